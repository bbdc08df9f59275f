#!/usr/bin/env node
// Cross-runtime test runner (`npm test`): runs test/**/*.test.ts in Deno (`deno test`) and in headless
// Chromium (Vite dev server + puppeteer, page test/browser/index.html), then prints per-runtime totals
// and, as its very last line, `N passed, M failed` summed over both runtimes.
//
//   npm test                          both runtimes
//   npm test -- --deno-only           only Deno
//   npm test -- --browser-only        only Chromium
//   npm test -- --filter <text>       tests whose name contains <text> (or matches /<regex>/), both runtimes
//   npm test -- --timeout <seconds>   per-test timeout in the browser (default 120)
//   npm test -- --verbose             also forward Chromium's own stderr
//
// Exit status: 0 only if every runtime that ran finished, ran at least one test, and nothing failed.
// (With --filter, a runtime may select zero tests as long as the other one selected some.)
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), HARMONIZE_CHROMIUM_ARGS (extra flags,
// space-separated), XDG_RUNTIME_DIR (default /tmp; quiets Mesa's lavapipe), DENO_WEBGPU_BACKEND
// (default vulkan on Linux).

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SourceMapConsumer } from "source-map-js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Chromium flags. --enable-unsafe-webgpu is the one that matters: without it requestAdapter() returns
// null on Linux. Headless Chromium without a usable GPU then picks Dawn's bundled SwiftShader (Vulkan on
// the CPU) by itself; --use-webgpu-adapter / --use-angle / --enable-features=Vulkan are not needed.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// ---------------------------------------------------------------------------------------------- args

function usage(exitCode) {
  const text = fs.readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 17)
    .map((l) => l.replace(/^\/\/ ?/, "")).join("\n");
  (exitCode ? process.stderr : process.stdout).write(text + "\n");
  process.exit(exitCode);
}

const opts = (() => {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        "deno-only": { type: "boolean" },
        "browser-only": { type: "boolean" },
        filter: { type: "string" },
        timeout: { type: "string", default: "120" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`error: ${e.message}`);
    usage(2);
  }
  if (values.help) usage(0);
  if (values["deno-only"] && values["browser-only"]) {
    console.error("error: --deno-only and --browser-only exclude each other");
    process.exit(2);
  }
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) {
    console.error("error: --timeout needs a positive number of seconds");
    process.exit(2);
  }
  return {
    deno: !values["browser-only"],
    browser: !values["deno-only"],
    filter: values.filter ?? null,
    timeoutS,
    verbose: values.verbose ?? false,
  };
})();

process.env.XDG_RUNTIME_DIR ||= "/tmp";
// Without it, Deno's wgpu silently falls back to its OpenGL backend (Mesa llvmpipe through EGL) when no
// Vulkan driver is installed: a different adapter with different limits. Pin Vulkan (lavapipe in CI)
// on Linux; set DENO_WEBGPU_BACKEND yourself to override (e.g. "gl", or "metal" elsewhere).
if (process.platform === "linux") process.env.DENO_WEBGPU_BACKEND ||= "vulkan";

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const banner = (text) => console.log(`\n=== ${text} ${"=".repeat(Math.max(3, 76 - text.length))}`);

// ---------------------------------------------------------------------------------------------- deno

// `deno test` ends with e.g.
//   ok | 12 passed | 0 failed (3s)
//   FAILED | 3 passed (2 steps) | 2 failed (1 step) | 1 ignored | 4 filtered out (13ms)
// "N passed" / "M failed" count tests (a test fails if any of its steps fails); the "(k steps)" counts
// are reported separately and not added, so a failing step is not counted twice.
const DENO_SUMMARY_RE =
  /^(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?(?: \| (\d+) measured)?(?: \| (\d+) filtered out)?(?: \([^)]*\))?\s*$/;

function parseDenoSummary(output) {
  let summary = null;
  for (const line of stripAnsi(output).split(/\r?\n/)) {
    const m = DENO_SUMMARY_RE.exec(line.trim());
    // The last match wins: a test's own console output could contain a look-alike line.
    if (m) {
      summary = {
        status: m[1],
        passed: +m[2],
        passedSteps: +(m[3] ?? 0),
        failed: +m[4],
        failedSteps: +(m[5] ?? 0),
        ignored: +(m[6] ?? 0),
        filteredOut: +(m[9] ?? 0),
      };
    }
  }
  return summary;
}

function findDeno() {
  const local = path.join(ROOT, "node_modules", ".bin", "deno");
  return fs.existsSync(local) ? local : "deno";
}

async function runDeno() {
  banner("deno");
  const args = ["test", "--allow-all"];
  if (opts.filter !== null) args.push("--filter", opts.filter);
  args.push("test/");
  const bin = findDeno();
  console.log(`$ ${path.relative(ROOT, bin) || bin} ${args.map((a) => (/[\s|*?]/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
  const t0 = Date.now();
  let output = "";
  const { code, signal, spawnError } = await new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: ROOT, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    activeChildren.add(child);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk); // one stream, so the order of deno's output survives
    });
    child.on("error", (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.on("close", (code, signal) => {
      activeChildren.delete(child);
      resolve({ code, signal });
    });
  });
  const result = { name: "deno", passed: 0, failed: 0, ms: Date.now() - t0, crashed: null, notes: [] };
  if (spawnError) {
    result.crashed = `could not start ${bin}: ${spawnError.message} (run npm ci: deno comes from the "deno" npm package)`;
    return result;
  }
  const summary = parseDenoSummary(output);
  if (!summary) {
    result.crashed = `deno test ended (${signal ? `signal ${signal}` : `exit code ${code}`}) without a summary line ` +
      `(type-check or module load error? see above)`;
    return result;
  }
  Object.assign(result, { passed: summary.passed, failed: summary.failed });
  if (summary.passedSteps || summary.failedSteps) {
    result.notes.push(`steps: ${summary.passedSteps} passed, ${summary.failedSteps} failed`);
  }
  if (summary.ignored) result.notes.push(`${summary.ignored} ignored`);
  if (summary.filteredOut) result.notes.push(`${summary.filteredOut} filtered out`);
  if (code !== 0 && summary.failed === 0) {
    result.crashed = `deno test exited with ${signal ? `signal ${signal}` : `code ${code}`} although its summary says ${summary.status}`;
  }
  return result;
}

// ------------------------------------------------------------------------------------------- browser

// fetch() from test code (readRepoFile, the library's shader loading) must get the repository's bytes
// as they are. Vite would transform some of them (*.ts, *.css, extension-less paths) and its SPA fallback
// answers missing files with index.html; so requests the page makes with fetch() (Sec-Fetch-Dest: empty)
// for a plain path that is a file under the repository are served raw here, before Vite sees them.
const CONTENT_TYPES = {
  ".wgsl": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
};

function rawFetchPlugin() {
  return {
    name: "harmonize:raw-fetch",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if ((req.method !== "GET" && req.method !== "HEAD") || req.headers["sec-fetch-dest"] !== "empty") return next();
        let pathname;
        try {
          const url = new URL(req.url ?? "/", "http://127.0.0.1");
          if (url.search) return next(); // ?import, ?raw, ?url … are Vite's business
          pathname = decodeURIComponent(url.pathname);
        } catch {
          return next();
        }
        if (pathname.startsWith("/@") || pathname.includes("\0")) return next();
        const file = path.resolve(ROOT, "." + pathname);
        const rel = path.relative(ROOT, file);
        if (rel.startsWith("..") || path.isAbsolute(rel)) return next();
        if (rel.split(path.sep).some((part) => part === ".git" || part.startsWith(".env"))) return next();
        fs.stat(file, (err, stat) => {
          if (err || !stat.isFile()) return next();
          res.statusCode = 200;
          res.setHeader("Content-Type", CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream");
          res.setHeader("Content-Length", stat.size);
          res.setHeader("Cache-Control", "no-store");
          if (req.method === "HEAD") return res.end();
          fs.createReadStream(file).on("error", (e) => res.destroy(e)).pipe(res);
        });
      });
    },
  };
}

// Source maps: stacks from the page point into Vite's output, whose lines differ from the TypeScript
// sources (type-only lines are dropped). Frames are mapped back with the map of Vite's transform result.
async function sourceMapStack(text, origin, server) {
  const frameRe = new RegExp(`${origin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(/[^\\s:?()]+)(\\?[^\\s:()]*)?:(\\d+):(\\d+)`, "g");
  const cache = new Map();
  const replacements = new Map();
  for (const m of text.matchAll(frameRe)) {
    const [whole, urlPath, , line, col] = m;
    let mapped = `./${urlPath.slice(1)}:${line}:${col}`;
    try {
      if (!cache.has(urlPath)) {
        const mod = await server?.moduleGraph.getModuleByUrl(urlPath);
        const map = mod?.transformResult?.map;
        cache.set(urlPath, map?.mappings ? new SourceMapConsumer(map) : null);
      }
      const original = cache.get(urlPath)?.originalPositionFor({ line: +line, column: +col - 1, bias: SourceMapConsumer.GREATEST_LOWER_BOUND });
      if (original?.line) mapped = `./${urlPath.slice(1)}:${original.line}:${original.column + 1}`;
    } catch {
      // keep the generated position
    }
    replacements.set(whole, mapped);
  }
  for (const [from, to] of replacements) text = text.split(from).join(to);
  return text;
}

async function formatError(error, origin, server) {
  if (!error) return "";
  let text = error.stack && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}` +
    (error.stack ? `\n${error.stack}` : "");
  text = await sourceMapStack(text, origin, server);
  text = text.split(origin + "/").join("./");
  return text.split("\n")
    .filter((l) => !/^\s+at .*\.\/test\/browser\/entry\.ts:/.test(l)) // the runner's own frames
    .map((l) => `    ${l}`).join("\n");
}

async function runBrowser() {
  banner("chromium");
  const t0 = Date.now();
  const result = { name: "chromium", passed: 0, failed: 0, ms: 0, crashed: null, notes: [], failures: [] };
  let server;
  let browser;
  const viteErrors = [];
  const flushViteErrors = (indent = "  [vite] ") => {
    for (const msg of viteErrors.splice(0)) {
      const lines = msg.split("\n").filter((l) => !/^\s+at .*[\\/]node_modules[\\/]vite[\\/]/.test(l)); // Vite internals
      console.log(lines.map((l) => indent + l).join("\n"));
    }
  };
  try {
    const { createServer, createLogger } = await import("vite");
    // Vite's transform errors (e.g. an unresolvable import) are the useful part of a failed module
    // import, whose browser-side message is only "Failed to fetch dynamically imported module". They
    // are held back and printed with the failure; warnings are printed at once. All on stdout.
    const logger = createLogger("warn", { allowClearScreen: false });
    logger.warn = (msg) => console.log(`  [vite] ${msg}`);
    logger.warnOnce = logger.warn;
    logger.error = (msg) => viteErrors.push(stripAnsi(String(msg)));
    server = await createServer({
      customLogger: logger,
      root: ROOT,
      configFile: false,
      envDir: false,
      appType: "mpa", // no SPA fallback: a missing file is a 404, not index.html
      logLevel: "warn",
      clearScreen: false,
      publicDir: false,
      server: { host: "127.0.0.1", port: 0, strictPort: true, hmr: false, watch: null, fs: { strict: true } },
      // npm dependencies (CommonJS ones above all) are pre-bundled by Vite; the scan starts from the
      // test page and follows its import.meta.glob, so they are known before the page runs. One found
      // only at run time (e.g. behind a dynamic import with a computed name) makes Vite reload the
      // page: the runner then stops with an error naming optimizeDeps.include.
      optimizeDeps: { entries: ["test/browser/index.html"] },
      plugins: [rawFetchPlugin()],
    });
    await server.listen();
    const address = server.httpServer.address();
    const origin = `http://127.0.0.1:${address.port}`;
    const query = new URLSearchParams({ timeout: String(Math.round(opts.timeoutS * 1000)) });
    if (opts.filter !== null) query.set("filter", opts.filter);
    const pageUrl = `${origin}/test/browser/index.html?${query}`;
    console.log(`vite: ${origin} (${seconds(Date.now() - t0)})`);

    const { default: puppeteer } = await import("puppeteer");
    const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
    const extraArgs = (process.env.HARMONIZE_CHROMIUM_ARGS ?? "").split(/\s+/).filter(Boolean);
    const tLaunch = Date.now();
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, ...extraArgs],
      dumpio: opts.verbose,
      protocolTimeout: 0,
      env: process.env,
    });
    console.log(`chromium: ${await browser.version()} from ${executablePath} (launched in ${seconds(Date.now() - tLaunch)})`);
    const page = await browser.newPage();

    let finish;
    const finished = new Promise((resolve) => (finish = resolve));
    let current = null; // the test running now
    let sawDone = false;
    let started = false;
    let watchdog;
    const arm = (ms, what) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => finish({ crashed: `no progress for ${seconds(ms)} while ${what}` }), ms);
    };
    const testLimit = opts.timeoutS * 1000 + 60_000; // the page times tests out itself; this catches a hung page

    await page.exposeFunction("__harmonizeReport", async (event) => {
      switch (event.type) {
        case "start":
          if (started) {
            finish({ crashed: "the page reloaded mid-run (Vite found a new npm dependency to pre-bundle; " +
              "add it to optimizeDeps.include in test/run.mjs)" });
            return;
          }
          started = true;
          console.log(`importing ${event.modules} test module(s)`);
          arm(300_000, "importing test modules");
          break;
        case "module-error":
          result.failed++;
          console.log(`FAILED import ${event.file}\n${await formatError(event.error, origin, server)}`);
          flushViteErrors("    ");
          result.failures.push(`import ${event.file}`);
          break;
        case "collected":
          flushViteErrors();
          console.log(`${event.total} test(s) registered` +
            (event.filter !== null ? `, ${event.selected} matching filter ${JSON.stringify(event.filter)}` : ""));
          if (event.filter !== null && event.total > event.selected) result.notes.push(`${event.total - event.selected} filtered out`);
          break;
        case "test-start":
          flushViteErrors();
          current = event;
          arm(testLimit, `running ${JSON.stringify(event.name)}`);
          break;
        case "result":
          flushViteErrors();
          current = null;
          arm(testLimit, "between tests");
          if (event.ok) result.passed++;
          else result.failed++;
          console.log(`${event.ok ? "ok    " : "FAILED"} ${event.file} › ${event.name} (${event.ms} ms)`);
          if (!event.ok) {
            console.log(await formatError(event.error, origin, server));
            result.failures.push(`${event.file} › ${event.name}`);
          }
          break;
        case "done":
          sawDone = true;
          finish({});
          break;
      }
    });
    page.on("console", (msg) => {
      const text = msg.text();
      const type = msg.type();
      if (type === "debug" && text.startsWith("[vite]")) return; // "[vite] connecting..."
      if (text.startsWith("Failed to load resource:")) return; // the [http NNN] line names the URL
      console.log(`  [console${type === "log" ? "" : "." + type}] ${text.split(origin + "/").join("./")}`);
    });
    // Uncaught errors also fail the running test (entry.ts); this line only marks when they happened.
    page.on("pageerror", (err) => console.log(`  [pageerror] ${String(err?.message ?? err).split("\n")[0]}`));
    page.on("response", (response) => {
      if (response.status() >= 400) {
        console.log(`  [http ${response.status()}] ${response.request().method()} ${response.url().split(origin).join("")}`);
      }
    });
    page.on("requestfailed", (request) => {
      if (request.failure()?.errorText === "net::ERR_ABORTED") return; // follows an HTTP error, logged above
      console.log(`  [request failed] ${request.url().split(origin).join("")}: ${request.failure()?.errorText}`);
    });
    page.on("error", (err) => finish({ crashed: `page crashed: ${err?.message ?? err}` }));
    browser.on("disconnected", () => finish({ crashed: "Chromium disconnected" }));

    arm(120_000, "loading the page");
    const tGoto = Date.now();
    await page.goto(pageUrl, { waitUntil: "load", timeout: 120_000 });
    console.log(`page: ${pageUrl.replace(origin, "")} (loaded in ${seconds(Date.now() - tGoto)})`);
    const outcome = await finished;
    clearTimeout(watchdog);
    if (outcome.crashed) {
      result.crashed = outcome.crashed;
      if (current) {
        result.failed++;
        result.failures.push(`${current.file} › ${current.name}`);
        console.log(`FAILED ${current.file} › ${current.name} (did not finish: ${outcome.crashed})`);
      }
    } else if (!sawDone) {
      result.crashed = "the page never reported completion";
    }
  } catch (e) {
    result.crashed = `${e?.message ?? e}`;
    if (e?.stack) console.log(e.stack);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.close().catch(() => {});
    flushViteErrors();
  }
  result.ms = Date.now() - t0;
  if (result.failures?.length) {
    console.log(`\nchromium failures:\n${result.failures.map((f) => `  ${f}`).join("\n")}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------- main

const activeChildren = new Set();
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    for (const child of activeChildren) child.kill(sig);
    process.exit(130);
  });
}

const results = [];
if (opts.deno) results.push(await runDeno());
if (opts.browser) results.push(await runBrowser());

banner("totals");
let passed = 0;
let failed = 0;
let bad = false;
const ranSomewhere = results.some((r) => r.passed + r.failed > 0);
for (const r of results) {
  // A runtime that crashed without a failing test to show for it counts as one failure.
  if (r.crashed && r.failed === 0) r.failed = 1;
  passed += r.passed;
  failed += r.failed;
  const notes = r.notes.length ? ` (${r.notes.join(", ")})` : "";
  console.log(`${r.name.padEnd(9)} ${r.passed} passed, ${r.failed} failed${notes} in ${seconds(r.ms)}`);
  if (r.crashed) {
    bad = true;
    console.log(`          error: ${r.crashed}`);
  } else if (r.passed + r.failed === 0) {
    if (opts.filter !== null && ranSomewhere) {
      console.log(`          note: no test matched the filter in ${r.name}`);
    } else {
      bad = true;
      console.log(`          error: ${r.name} ran zero tests`);
    }
  }
}
if (failed > 0) bad = true;
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = bad ? 1 : 0;
// Should a handle (a straggling child, a socket) keep the event loop alive, leave anyway.
setTimeout(() => process.exit(process.exitCode), 5_000).unref();
