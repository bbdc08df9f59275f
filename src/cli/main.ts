// `harmonize <command> [args]`: a table of subcommands. Adding one is an import and a table entry.

import { type Command, UsageError } from "./command.ts";
import { shardsCommand } from "./shards.ts";
import { parityCommand } from "./parity.ts";
import { trainCommand } from "./train.ts";

const commands: Record<string, Command> = {
  shards: shardsCommand,
  train: trainCommand,
  parity: parityCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ["usage: harmonize <command> [args]", "", "commands:", ...lines].join("\n");
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "help" || name === "--help") {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`harmonize: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`harmonize ${name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
