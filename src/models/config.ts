/** Helpers shared by the model configs. */

/** The entries of `config` whose value is not undefined, so defaults are not overwritten by holes. */
export function definedEntries<T extends object>(config: T): Partial<T> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A config value for an error message: at most 60 characters, even when nested past what stringify survives. */
export function brief(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = "(nested too deeply to print)";
  }
  return clip(text);
}

/** Text for a one-line error message: control characters escaped, cut to `max` characters. */
export function clip(text: string, max = 60): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped;
}

/** Whether `key` is one of `table`'s own keys (`in` would also accept "toString" or "__proto__"). */
export function isOwnKey(table: object, key: unknown): boolean {
  return typeof key === "string" && Object.hasOwn(table, key);
}
