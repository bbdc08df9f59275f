/** Running `harmonize` as a user does: a separate Deno process, its exit code, stdout and stderr. */

export const ROOT = new URL("../..", import.meta.url).pathname;

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How the CLI is started: Deno directly, or through the npm entry point bin/harmonize.mjs; with
 * "npm-bin-group" the wrapper leads its own process group (as a job under `timeout` or a batch
 * scheduler), and signals go to the whole group.
 */
export type Launcher = "deno" | "npm-bin" | "npm-bin-group";

function command(args: string[], launcher: Launcher = "deno"): Deno.Command {
  const [program, prefix] = launcher === "deno" ? [Deno.execPath(), ["run", "-A", "src/cli/main.ts"]] : ["node", ["bin/harmonize.mjs"]];
  return new Deno.Command(program, {
    args: [...prefix, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
    detached: launcher === "npm-bin-group",
  });
}

/** Sends `signal` to the child, or to its whole process group when it leads one. */
async function send(child: Deno.ChildProcess, signal: Deno.Signal, launcher: Launcher): Promise<void> {
  if (launcher !== "npm-bin-group") return child.kill(signal);
  const kill = await new Deno.Command("sh", { args: ["-c", `kill -${signal.slice(3)} -${child.pid}`] }).output();
  if (kill.code !== 0) throw new Error(`kill of process group ${child.pid}: ${new TextDecoder().decode(kill.stderr)}`);
}

export async function harmonize(...args: string[]): Promise<Finished> {
  const out = await command(args).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Starts `harmonize`, sends `signal` once a stdout line matches `when`, and waits for the end. */
export function interrupt(when: RegExp, signal: Deno.Signal, args: string[], launcher: Launcher = "deno"): Promise<Signalled> {
  return signalInTurn([[when, signal]], args, launcher);
}

export interface Signalled extends Finished {
  /** The signal that ended the process (its default action), or null when it exited by itself. */
  killedBy: Deno.Signal | null;
  /** How many of the signals were sent before the process ended. */
  sent: number;
}

/**
 * Starts `harmonize` and sends each signal once stdout (all of it so far) matches its pattern, in
 * turn; a signal whose turn comes after the process ended is not sent.
 */
export async function signalInTurn(turns: [RegExp, Deno.Signal][], args: string[], launcher: Launcher = "deno"): Promise<Signalled> {
  const child = command(args, launcher).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let sent = 0;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    stdout += chunk;
    while (sent < turns.length && turns[sent][0].test(stdout)) {
      try {
        await send(child, turns[sent][1], launcher);
      } catch {
        break; // it has just ended
      }
      sent++;
    }
  }
  const { code, signal } = await child.status;
  return { code, stdout, stderr: await stderr, killedBy: signal, sent };
}

/** metrics.jsonl without the wall-clock fields (time, images per second). */
export async function loggedLosses(runDir: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${runDir}/metrics.jsonl`);
  return text.trim().split("\n").map((line) => {
    const { time: _t, imagesPerSecond: _i, ...rest } = JSON.parse(line);
    return JSON.stringify(rest);
  });
}
