/** Helpers shared by the model configs. */

/** The entries of `config` whose value is not undefined, so defaults are not overwritten by holes. */
export function definedEntries<T extends object>(config: T): Partial<T> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<T>;
}
