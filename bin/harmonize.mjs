#!/usr/bin/env node
// `harmonize` with the Deno that `npm ci` installed (the npm package "deno"), no global install:
// `npm start`, `npm run harmonize -- <command>`, or `npx harmonize <command>`. Ctrl-C reaches the
// Deno process, which saves a checkpoint before it exits (a second one ends it at once); this wrapper
// waits and passes on its exit code.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const packageDir = path.dirname(createRequire(import.meta.url).resolve("deno/package.json"));
const executable = path.join(packageDir, process.platform === "win32" ? "deno.exe" : "deno");
// The package's own launcher installs the binary on first use when the postinstall step did not.
const [command, prefix] = existsSync(executable) ? [executable, []] : [process.execPath, [path.join(packageDir, "bin.cjs")]];
const permissions = ["--allow-read", "--allow-write", "--allow-net", "--allow-env", "--allow-sys"];
const env = { ...process.env };
// Mesa's software Vulkan (lavapipe) warns on every start without it.
if (process.platform === "linux" && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = "/tmp";

const child = spawn(command, [...prefix, "run", ...permissions, path.join(root, "src/cli/main.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
  env,
});
// A terminal's Ctrl-C already reaches the child (same process group); a SIGTERM sent to this
// wrapper alone is passed on. Either way the child decides when to exit.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
// A child ended by a signal (a second Ctrl-C or SIGTERM) exits as a shell reports it: 128 + its number.
child.on("exit", (code, signal) => process.exit(code ?? 128 + os.constants.signals[signal]));
