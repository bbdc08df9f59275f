/// <reference types="vite/client" />
// Browser side of the test runner. Vite serves this page (test/run.mjs starts the server and drives
// Chromium through puppeteer); the page imports every test module except Deno-only ones, then runs the
// tests that test/harness.ts collected, one at a time (they share one GPU device), each with a timeout.
//
// Query parameters: filter=<substring>|/<regex>/ (matched against test names, like `deno test --filter`),
// timeout=<ms per test> (default 120000).
//
// Results go to the Node side through `window.__harmonizeReport` (installed by puppeteer's
// exposeFunction); opened by hand in a browser, the page only renders them.

import { browserTests, type RegisteredTest } from "../harness.ts";

export type ReportedError = { name: string; message: string; stack?: string };
export type RunnerEvent =
  | { type: "start"; modules: number }
  | { type: "module-error"; file: string; error: ReportedError }
  | { type: "collected"; total: number; selected: number; filter: string | null }
  | { type: "test-start"; index: number; file: string; name: string }
  | { type: "result"; index: number; file: string; name: string; ok: boolean; ms: number; error?: ReportedError }
  | { type: "done"; passed: number; failed: number; ms: number };

declare global {
  interface Window {
    __harmonizeReport?: (event: RunnerEvent) => Promise<void>;
    __harmonizeDone?: boolean;
  }
}

// Every *.test.ts under test/, except Deno-only tests and this directory. Lazy, so one module that
// fails to load is reported as a failure instead of taking the whole page down.
const modules = import.meta.glob([
  "../**/*.test.ts",
  "!../**/*.deno.test.ts",
  "!./**",
]) as Record<string, () => Promise<unknown>>;

const params = new URLSearchParams(location.search);
const filterParam = params.get("filter");
const timeoutMs = Number(params.get("timeout") ?? "") || 120_000;

function nameMatches(name: string): boolean {
  if (!filterParam) return true;
  if (filterParam.length > 2 && filterParam.startsWith("/") && filterParam.endsWith("/")) {
    return new RegExp(filterParam.slice(1, -1)).test(name);
  }
  return name.includes(filterParam);
}

function serializeError(e: unknown): ReportedError {
  if (e instanceof Error) {
    let stack = e.stack;
    let cause = (e as { cause?: unknown }).cause;
    for (let depth = 0; cause !== undefined && depth < 3; depth++) {
      stack = `${stack ?? ""}\nCaused by: ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`;
      cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
    }
    return { name: e.name, message: e.message, stack };
  }
  if (typeof e === "object" && e !== null && "message" in e) {
    // e.g. a GPUError or an ErrorEvent.
    return { name: (e as { constructor?: { name?: string } }).constructor?.name ?? "Error", message: String((e as { message: unknown }).message) };
  }
  return { name: "Error", message: `non-Error thrown: ${String(e)}` };
}

const resultsEl = document.getElementById("results");
const statusEl = document.getElementById("status");

function render(event: RunnerEvent): void {
  if (!resultsEl) return;
  if (event.type === "result" || event.type === "module-error") {
    const div = document.createElement("div");
    const ok = event.type === "result" && event.ok;
    div.className = ok ? "ok" : "failed";
    div.textContent = event.type === "result"
      ? `${ok ? "ok" : "FAILED"} ${event.file} › ${event.name} (${event.ms} ms)`
      : `FAILED to import ${event.file}`;
    if (event.error) {
      const pre = document.createElement("pre");
      pre.textContent = event.error.stack ?? `${event.error.name}: ${event.error.message}`;
      div.appendChild(pre);
    }
    resultsEl.appendChild(div);
  } else if (event.type === "done" && statusEl) {
    statusEl.textContent = `${event.passed} passed, ${event.failed} failed (${event.ms} ms)`;
  } else if (event.type === "test-start" && statusEl) {
    statusEl.textContent = `running ${event.name}…`;
  }
}

async function report(event: RunnerEvent): Promise<void> {
  render(event);
  if (window.__harmonizeReport) await window.__harmonizeReport(event);
}

// Errors nobody awaited, e.g. a rejected promise a test forgot to await: they fail the running test.
const strayErrors: ReportedError[] = [];
addEventListener("error", (ev) => strayErrors.push(serializeError(ev.error ?? ev)));
addEventListener("unhandledrejection", (ev) => strayErrors.push(serializeError(ev.reason)));

async function runOne(test: RegisteredTest): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`test timed out after ${timeoutMs} ms (it may still be running in the background)`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(() => test.fn()), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const files = Object.keys(modules).sort();
  await report({ type: "start", modules: files.length });

  // Import serially so each registered test can be attributed to its file.
  const owners: string[] = [];
  let importFailures = 0;
  for (const key of files) {
    const file = new URL(key, "http://x/test/browser/").pathname.slice(1); // "../a.test.ts" → "test/a.test.ts"
    try {
      await modules[key]();
    } catch (e) {
      importFailures++;
      await report({ type: "module-error", file, error: serializeError(e) });
    }
    while (owners.length < browserTests.length) owners.push(file);
  }
  for (const error of strayErrors.splice(0)) {
    importFailures++;
    await report({ type: "module-error", file: "(uncaught while importing test modules)", error });
  }

  const selected = browserTests.map((t, i) => ({ test: t, file: owners[i] })).filter(({ test }) => nameMatches(test.name));
  await report({ type: "collected", total: browserTests.length, selected: selected.length, filter: filterParam });

  let passed = 0;
  let failed = importFailures;
  for (let index = 0; index < selected.length; index++) {
    const { test, file } = selected[index];
    await report({ type: "test-start", index, file, name: test.name });
    const t0 = performance.now();
    let error: ReportedError | undefined;
    try {
      await runOne(test);
    } catch (e) {
      error = serializeError(e);
    }
    // Let pending rejection events fire before judging the test.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (!error && strayErrors.length > 0) {
      const first = strayErrors[0];
      error = {
        name: first.name,
        message: `uncaught error during the test${strayErrors.length > 1 ? ` (and ${strayErrors.length - 1} more)` : ""}: ${first.message}`,
        stack: first.stack,
      };
    }
    strayErrors.length = 0;
    const ms = Math.round(performance.now() - t0);
    if (error) failed++;
    else passed++;
    await report({ type: "result", index, file, name: test.name, ok: !error, ms, error });
  }
  await report({ type: "done", passed, failed, ms: Math.round(performance.now() - started) });
  window.__harmonizeDone = true;
}

main().catch(async (e) => {
  // A bug in the runner itself: report it as a failed pseudo-module so the Node side sees it.
  await report({ type: "module-error", file: "test/browser/entry.ts", error: serializeError(e) });
  await report({ type: "done", passed: 0, failed: 1, ms: 0 });
});
