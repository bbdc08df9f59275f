// What every `harmonize` subcommand provides, and the small flag parser they share.

export interface Command {
  /** One line for `harmonize help`. */
  summary: string;
  /** What `harmonize <command> --help` prints: every option. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** A mistake in how the command was called: one line on stderr and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** `--name value`, `--name=value`, and bare `--switch` for names listed in `switches` (or given last). */
export function parseArgs(args: string[], switches: string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (eq > 0) flags.set(name, arg.slice(eq + 1));
    else if (switches.includes(name)) flags.set(name, true);
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) flags.set(name, args[++i]);
    else flags.set(name, true); // stringFlag refuses it, after checkFlags had a chance to call it unknown
  }
  return { positional, flags };
}

export function stringFlag(parsed: ParsedArgs, name: string, fallback?: string): string | undefined {
  const value = parsed.flags.get(name);
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value ?? fallback;
}

export function intFlag(parsed: ParsedArgs, name: string, fallback: number): number {
  const value = stringFlag(parsed, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  // Number() reads "" and " " as 0 and rounds past 2^53.
  if (value.trim() === "" || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

export function numberFlag(parsed: ParsedArgs, name: string, fallback: number): number {
  const value = stringFlag(parsed, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got ${value}`);
  return n;
}

/** Deno's file errors read "No such file or directory (os error 2): open 'x.tfrecords'". */
const OS_ERROR = /^(.+?) \(os error \d+\): \w+ '([^']*)'(?: -> '[^']*')?$/;

/** Why a file operation failed, without Deno's "(os error N): op 'path'" tail: "no such file or directory". */
export function fileErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const os = OS_ERROR.exec(message);
  return os ? os[1].charAt(0).toLowerCase() + os[1].slice(1) : message;
}

/** An error's message, a Deno file error as "PATH: reason" so that the file comes first. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const os = OS_ERROR.exec(message);
  return os ? `${os[2]}: ${fileErrorReason(error)}` : message;
}

/** Refuses flags the command does not know, so a typo is not silently ignored. */
export function checkFlags(parsed: ParsedArgs, known: string[]): void {
  for (const name of parsed.flags.keys()) {
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
  }
}

/** Whether the arguments ask for help (anywhere, so `harmonize shards verify --help` works too). */
export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}
