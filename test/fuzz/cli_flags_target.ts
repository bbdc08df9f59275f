// Fuzz target: the command-line flag parser that every `harmonize` command shares (src/cli/command.ts),
// called as the commands call it: parseArgs, checkFlags, then the typed readers. Argument lists mix
// known and unknown flags, `--name value` and `--name=value`, missing values, repeated flags (the
// last one wins),
// swapped names and values, and values that Number() reads loosely ("", " ", "0x10", "1e3",
// 2^53 + 1, "Infinity", "-0"). A value read must be what the text says; a refusal must be a
// UsageError naming the flag.

import { checkFlags, intFlag, numberFlag, parseArgs, stringFlag, UsageError } from "../../src/cli/command.ts";
import type { Random } from "../../src/data/random.ts";
import { check, type FuzzTarget, namedError, type Outcome, pick } from "./fuzz.ts";

const INTS = ["steps", "batch-size", "seed"];
const NUMBERS = ["lr", "images-weight"];
const STRINGS = ["out", "model", "mode"];
const SWITCHES = ["skip-corrupt", "gzip"];
const KNOWN = [...INTS, ...NUMBERS, ...STRINGS, ...SWITCHES];
const VALUES = [
  "0", "7", "12", "0.05", "1e3", "1e-3", "", " ", "-1", "-0", "0x10", "0b11", "9007199254740993", "1.5", "Infinity", "NaN",
  "1_000", "٣", "12abc", "  8  ", "+4", "resnet.json", "--steps", "-", "=", "1e309",
];

function randomArgs(random: Random): string[] {
  const args: string[] = [];
  for (let i = 0, n = random.int(7); i < n; i++) {
    const name = random.int(8) === 0 ? pick(random, ["stpes", "", "-", "lr=", "help"]) : pick(random, KNOWN);
    const value = pick(random, VALUES);
    switch (random.int(5)) {
      case 0:
        args.push(`--${name}=${value}`);
        break;
      case 1:
        args.push(`--${name}`);
        break;
      case 2: // swapped: the value before the name
        args.push(value, `--${name}`);
        break;
      default:
        args.push(`--${name}`, value);
    }
  }
  if (random.int(4) === 0 && args.length > 0) args.push(pick(random, args)); // a repeat
  return args;
}

/** What a strict reading of the text gives: a decimal (or 0x/0b/0o) number, nothing rounded. */
function strictNumber(text: string, integer: boolean): number | undefined {
  const decimal = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text);
  if (!decimal && !/^\s*0([xX][\da-fA-F]+|[bB][01]+|[oO][0-7]+)\s*$/.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) return undefined;
  return n;
}

export const cliFlagsTarget: FuzzTarget = {
  name: "cli-flags",
  setup: () => Promise.resolve(),
  one(random, iteration) {
    const args = randomArgs(random);
    const label = `cli input ${iteration} ${JSON.stringify(args)}`;
    const named = /--\S*/;
    let parsed;
    try {
      parsed = parseArgs(args, SWITCHES);
      checkFlags(parsed, KNOWN);
    } catch (e) {
      check(e instanceof UsageError, `${label}: ${e}`);
      return Promise.resolve(namedError(e, named, label));
    }
    // A repeated flag: the last one wins (commands rely on it to override a default list).
    for (let i = args.length - 1; i >= 0; i--) {
      const eq = args[i].indexOf("=");
      if (!args[i].startsWith("--") || eq < 0) continue;
      const name = args[i].slice(2, eq);
      const later = args.slice(i + 1).some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
      check(later || parsed.flags.get(name) === args[i].slice(eq + 1), `${label}: --${name} read as ${parsed.flags.get(name)}, last given ${args[i]}`);
    }
    let outcome: Outcome = { ok: true };
    for (const [names, read] of [
      [INTS, (n: string) => intFlag(parsed, n, -1)],
      [NUMBERS, (n: string) => numberFlag(parsed, n, -1)],
      [STRINGS, (n: string) => stringFlag(parsed, n)],
    ] as const) {
      for (const name of names) {
        const text = parsed.flags.get(name);
        let value;
        try {
          value = read(name);
        } catch (e) {
          check(e instanceof UsageError && e.message.includes(`--${name}`), `${label}: reading --${name}: ${e}`);
          outcome = namedError(e, named, label);
          continue;
        }
        if (typeof text !== "string" || names === STRINGS) continue;
        const strict = strictNumber(text, names === INTS);
        check(strict !== undefined && strict === value && strict >= 0, `${label}: --${name} ${JSON.stringify(text)} read as ${value}`);
      }
    }
    return Promise.resolve(outcome);
  },
};
