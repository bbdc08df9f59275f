// `harmonize <command> [args]`: a table of subcommands. Adding one is an import and a table entry.
// Errors end as one line on stderr (exit 1; usage errors exit 2); `--debug` adds the stack trace.

import { type Command, errorMessage, UsageError, wantsHelp } from "./command.ts";
import { shardsCommand } from "./shards.ts";
import { parityCommand } from "./parity.ts";
import { trainCommand } from "./train.ts";
import { evalCommand } from "./eval.ts";
import { reportCommand } from "./report.ts";
import { exportCommand } from "./export.ts";
import { importCommand } from "./import.ts";

const commands: Record<string, Command> = {
  train: trainCommand,
  eval: evalCommand,
  report: reportCommand,
  export: exportCommand,
  import: importCommand,
  shards: shardsCommand,
  parity: parityCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    "usage: harmonize <command> [args] [--debug]",
    "",
    "commands:",
    ...lines,
    "",
    "harmonize <command> --help lists a command's options; docs/cli.md describes them all.",
  ].join("\n");
}

/** One line: the message with its line breaks folded. */
function oneLine(error: unknown): string {
  return errorMessage(error).replace(/\s*\n\s*/g, "; ");
}

export async function main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  const [name, ...rest] = args.filter((a) => a !== "--debug");
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`harmonize: unknown command '${name}' (harmonize --help lists them)`);
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (debug) console.error(e);
    if (e instanceof UsageError) {
      console.error(`harmonize ${name}: ${oneLine(e)} (harmonize ${name} --help)`);
      return 2;
    }
    console.error(`harmonize ${name}: ${oneLine(e)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
