#!/usr/bin/env node
// Drives the BUILT lab (vite build → vite preview on 127.0.0.1) in headless Chromium through the whole
// flow a user takes: start, pause, resume, λ change, single step, painting a map, reading its score and
// adding it to the targets, reload → resume from OPFS (with the painted target), a forced device loss →
// recovery that replays the interrupted steps bit for bit, download → upload of a checkpoint, a shard
// file opened from disk, one dropped on the page, one streamed from this script's own 127.0.0.1 server
// (whose first answer breaks off, so the rest comes with a Range request), the tiny ViT, and the page at
// 360 px. Fails on any console error (page or worker) and on any main-thread task that takes over
// 100 ms of CPU time while training runs (from Chromium's trace; a task of the test's own that is known
// to be long must be caught). Run by test/demos/lab.deno.test.ts:
//
//   node test/demos/lab_flow.mjs --shard FILE --out DIR
//
// DIR receives lab.png (the screenshot after training), the downloaded checkpoint and result.json.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
if (!args.shard || !args.out) {
  console.error("usage: node test/demos/lab_flow.mjs --shard FILE --out DIR");
  process.exit(2);
}
fs.mkdirSync(args.out, { recursive: true });

const STEPS = 10;
const SEED = 3;
const RECORDS = 64;
const HASH = `#seed=${SEED}&records=${RECORDS}&steps=${STEPS}&batchSize=4&evalEvery=3&autosaveEvery=2`;
const LONG_TASK_MS = 100;
/** Names the long task the test itself runs on the main thread, which the probe must catch. */
const INJECTED_MARK = "lab-flow: injected long task";

const { build, preview } = await import("vite");
const configFile = path.join(ROOT, "demos/vite.config.ts");
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "harmonize-lab-"));
await build({ configFile, logLevel: "warn", build: { outDir, emptyOutDir: true } });
const server = await preview({ configFile, logLevel: "warn", build: { outDir }, preview: { host: "127.0.0.1", port: 0, strictPort: false } });
const origin = server.resolvedUrls.local[0].replace(/\/$/, "");

// The shard URL's server, on another origin (CORS as the docs ask). Its first answer breaks off
// halfway, so the worker must ask for the rest with `Range: bytes=N-`.
const shardBytes = fs.readFileSync(args.shard);
const shardRequests = [];
const shardServer = http.createServer((request, response) => {
  const cors = { "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Range", "Access-Control-Expose-Headers": "Content-Range, Content-Length" };
  if (request.method === "OPTIONS") return response.writeHead(204, cors).end();
  const range = request.headers.range ?? "";
  shardRequests.push({ method: request.method, range });
  const from = Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0);
  if (from > 0) {
    response.writeHead(206, { ...cors, "Content-Range": `bytes ${from}-${shardBytes.length - 1}/${shardBytes.length}`, "Content-Length": shardBytes.length - from });
    return response.end(shardBytes.subarray(from));
  }
  response.writeHead(200, { ...cors, "Accept-Ranges": "bytes", "Content-Length": shardBytes.length });
  if (shardRequests.length > 1) return response.end(shardBytes);
  response.write(shardBytes.subarray(0, shardBytes.length >> 1), () => setTimeout(() => response.socket.destroy(), 300));
});
await new Promise((resolve) => shardServer.listen(0, "127.0.0.1", resolve));
const shardOrigin = `http://127.0.0.1:${shardServer.address().port}`;

const { default: puppeteer } = await import("puppeteer");
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking", "--no-first-run"],
  protocolTimeout: 0,
});
const errors = [];
const log = (line) => console.log(`  ${line}`);
const result = { settings: { steps: STEPS, seed: SEED, records: RECORDS }, phases: [] };

function watchConsole(target, where) {
  target.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() === "error") errors.push(`${where}: ${text}`);
    if (process.env.LAB_FLOW_VERBOSE) log(`[${where} ${msg.type()}] ${text}`);
  });
}

async function openPage() {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 1600 });
  watchConsole(page, "page");
  page.on("pageerror", (e) => errors.push(`page: uncaught ${e.message}`));
  page.on("workercreated", (worker) => watchConsole(worker, "worker"));
  await page.evaluateOnNewDocument(() => {
    // Wall-clock long tasks (over 50 ms), for the record: on a loaded CPU-only machine they mostly
    // measure how long the main thread waited for a core, not what it did (the trace below does).
    globalThis.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) globalThis.__longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: "longtask", buffered: true });
    // Every step event the worker posts (without its timings), to compare a replay with the original.
    globalThis.__steps = [];
    const PageWorker = globalThis.Worker;
    globalThis.Worker = class extends PageWorker {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (event) => {
          if (event.data?.type !== "step") return;
          for (const { imagesPerSecond: _, time: __, ...losses } of event.data.events) globalThis.__steps.push(losses);
        });
      }
    };
  });
  return page;
}

/**
 * The main-thread probe: Chromium's trace of every task of the page's main thread with its thread
 * (CPU) time. A task's own work is its CPU time; its wall time also counts the time it waited for a
 * core, which on a shared CPU-only machine (SwiftShader trains on the same cores) says nothing about
 * the page. Returns the tasks, each marked when it holds the test's injected long task.
 */
async function stopTrace(page) {
  const { traceEvents } = JSON.parse(Buffer.from(await page.tracing.stop()).toString("utf8"));
  const threadOf = (e) => `${e.pid}:${e.tid}`;
  const mains = new Set(traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain").map(threadOf));
  const marks = traceEvents.filter((e) => e.name === INJECTED_MARK);
  const tasks = traceEvents.filter((e) => e.ph === "X" && e.name === "ThreadControllerImpl::RunTask" && mains.has(threadOf(e)));
  check(tasks.length > 0 && tasks.every((t) => typeof t.tdur === "number"), "the trace holds no main-thread tasks with thread times");
  return tasks.map((t) => ({
    cpuMs: t.tdur / 1000,
    wallMs: t.dur / 1000,
    injected: marks.some((m) => threadOf(m) === threadOf(t) && m.ts >= t.ts && m.ts <= t.ts + t.dur),
  }));
}
const startTrace = (page) => page.tracing.start({ categories: ["toplevel", "blink.user_timing"] });

/** A task of about a third of a second of CPU on the page's main thread, whatever the load (fixed work, not a clock). */
/** Paints a stroke on the painting surface with the mouse; returns the score table's rows. */
async function paintMap(page) {
  await page.$eval("#paint-canvas", (el) => el.scrollIntoView({ block: "center" }));
  const box = await (await page.$("#paint-canvas")).boundingBox();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.4);
  await page.mouse.down();
  for (let k = 1; k <= 8; k++) await page.mouse.move(box.x + box.width * (0.45 + 0.02 * k), box.y + box.height * (0.4 + 0.01 * k));
  await page.mouse.up();
  const scores = await page.$$eval("#paint-scores tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  check(scores.length === 3, `paint scores: ${JSON.stringify(scores)}`);
  for (const [, rho, alignment] of scores) check(Number.isFinite(Number(rho)) && Number.isFinite(Number(alignment)), `score not a number: ${scores}`);
  return scores;
}

/** Waits for a new run (after a click that starts one, while the last one is past step 0) to be built and evaluated. */
const waitFreshRun = (page, what) =>
  waitFor(page, what, () => document.querySelector("#progress").dataset.step === "0" && !document.querySelector("#play").disabled);

const injectLongTask = (page) =>
  page.evaluate((mark) => {
    setTimeout(() => {
      performance.mark(mark);
      let x = 1;
      for (let i = 0; i < 3e8; i++) x = Math.imul(x ^ i, 2654435761);
      globalThis.__injected = x;
    }, 0);
  }, INJECTED_MARK);

const text = (page, selector) => page.$eval(selector, (el) => el.textContent ?? "");
const step = (page) => page.$eval("#progress", (el) => Number(el.dataset.step));
const isRunning = (page) => page.$eval("#progress", (el) => el.dataset.running === "true");
async function waitFor(page, what, fn, ...fnArgs) {
  try {
    await page.waitForFunction(fn, { timeout: 300_000, polling: 200 }, ...fnArgs);
  } catch (e) {
    throw new Error(`waiting for ${what}: ${e.message}; status: ${await text(page, "#status")}; error: ${await text(page, "#error")}`);
  }
}
const waitStep = (page, n) => waitFor(page, `step ${n}`, (k) => Number(document.querySelector("#progress").dataset.step) >= k, n);
const waitReady = (page) => waitFor(page, "the run to be ready", () => !document.querySelector("#play").disabled || document.querySelector("#progress").dataset.running === "true");
const waitPaused = (page) => waitFor(page, "training to pause", () => document.querySelector("#progress").dataset.running === "false");
function check(condition, message) {
  if (!condition) throw new Error(message);
}
async function phase(name, fn) {
  const t0 = Date.now();
  await fn();
  result.phases.push({ name, seconds: (Date.now() - t0) / 1000 });
  log(`ok ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
/** Long tasks that overlapped training on the main thread, from the probe. */
async function longTasksSince(page, since) {
  return (await page.evaluate(() => globalThis.__longTasks)).filter((t) => t.start >= since);
}
const pageNow = (page) => page.evaluate(() => performance.now());

let page = await openPage();
let exitCode = 0;
try {
  await phase("open the lab with settings from the hash", async () => {
    await page.goto(`${origin}/${HASH}`, { waitUntil: "load" });
    await waitReady(page);
    await waitFor(page, "the first gallery", () => document.querySelectorAll("#gallery figure").length > 0);
    check(await page.$eval("input[name=steps]", (el) => el.value) === String(STEPS), "the hash did not set steps");
  });

  let trainingSince;
  await phase("start, pause", async () => {
    check(/every 2 steps/.test(await text(page, "#autosave")), `autosave line: ${await text(page, "#autosave")}`);
    await page.click("#play");
    // The probe starts once the first step is done: the first one also compiles every GPU pipeline.
    await waitStep(page, 1);
    await startTrace(page);
    trainingSince = await pageNow(page);
    await waitStep(page, 2);
    await page.click("#pause");
    await waitPaused(page);
    const paused = await step(page);
    await new Promise((r) => setTimeout(r, 1500));
    check(await step(page) === paused, "training went on after pause");
  });

  await phase("change λ_h between steps; the autosave line stays", async () => {
    await page.$eval("input[name=lambdaH]", (el) => {
      el.value = "2.5";
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    check(/lambdaH=2\.5/.test(await page.evaluate(() => location.hash)), "λ_h is not in the URL hash");
    check(/λ_h is now 2.5/.test(await text(page, "#status")), "no confirmation of the λ_h change");
    // The pause autosaved; the status line said something else since, the autosave line still says it.
    await waitFor(page, "the autosave line", (k) => document.querySelector("#autosave").textContent.includes(`last at step ${k}.`), await step(page));
  });

  await phase("resume, single step", async () => {
    const before = await step(page);
    await page.click("#play");
    await waitStep(page, before + 2);
    await page.click("#pause");
    await waitPaused(page);
    const at = await step(page);
    check(at < STEPS, `the run ended at step ${at} before the single step`);
    await page.click("#step");
    await waitStep(page, at + 1);
  });

  await phase("results table and legends", async () => {
    const harmonized = await page.$$eval("#results tbody tr", (rows) => rows.map((r) => r.dataset.member));
    check(harmonized.includes("plain") && harmonized.includes("harmonized"), `results table rows: ${harmonized}`);
    const legend = await page.$$eval(".legend li", (items) => items.map((li) => li.getBoundingClientRect()).map(({ left, right, top, bottom }) => ({ left, right, top, bottom })));
    for (let i = 0; i < legend.length; i++) {
      for (let j = i + 1; j < legend.length; j++) {
        const [a, b] = [legend[i], legend[j]];
        const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        check(!overlap, `legend entries ${i} and ${j} overlap`);
      }
    }
  });

  await phase("paint a map, read its score, add it to the targets", async () => {
    result.paintScores = await paintMap(page);
    const at = await step(page);
    await page.click("#paint-add");
    await waitFor(page, "the painted target", (k) => document.querySelector("#status").textContent.includes(`training target of the harmonized model from step ${k} on (1 painted`), at + 1);
  });

  await phase("train to the end; screenshot", async () => {
    await page.click("#play");
    await injectLongTask(page);
    await waitStep(page, STEPS);
    await waitPaused(page);
    const tasks = await stopTrace(page);
    result.wallClockLongTasks = await longTasksSince(page, trainingSince);
    const injected = tasks.filter((t) => t.injected);
    check(injected.length === 1 && injected[0].cpuMs > LONG_TASK_MS, `the probe missed the injected long task: ${JSON.stringify(injected)}`);
    const own = tasks.filter((t) => !t.injected);
    result.mainThread = {
      tasks: own.length,
      cpuMs: Math.round(own.reduce((sum, t) => sum + t.cpuMs, 0)),
      longestCpuMs: Math.max(...own.map((t) => t.cpuMs)),
      longestWallMs: Math.max(...own.map((t) => t.wallMs)),
      injectedCpuMs: injected[0].cpuMs,
    };
    const m = result.mainThread;
    log(`main thread while training: ${m.tasks} tasks, ${m.cpuMs} ms of CPU in all, the longest ${m.longestCpuMs.toFixed(1)} ms of CPU (longest wall time ${m.longestWallMs.toFixed(1)} ms); the injected task's ${m.injectedCpuMs.toFixed(0)} ms caught`);
    const long = own.filter((t) => t.cpuMs > LONG_TASK_MS);
    check(long.length === 0, `main-thread tasks over ${LONG_TASK_MS} ms of CPU while training: ${JSON.stringify(long)}`);
    result.results = await page.$$eval("#results tbody tr", (rows) => rows.map((r) => JSON.parse(r.dataset.evaluation)));
    await page.screenshot({ path: path.join(args.out, "lab.png"), fullPage: true });
  });

  await phase("360 px wide", async () => {
    await page.setViewport({ width: 360, height: 800 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `the page is ${width} px wide at a 360 px viewport`);
    await page.setViewport({ width: 1100, height: 1600 });
  });

  await phase("download a checkpoint, upload it", async () => {
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: path.resolve(args.out), eventsEnabled: true });
    await page.click("#download-harmonized");
    const name = `harmonized-step-${String(STEPS).padStart(6, "0")}.safetensors`;
    const file = path.join(args.out, name);
    for (let i = 0; i < 600 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    check(fs.existsSync(file), `no download ${name}`);
    result.checkpoint = file;
    result.evaluatedInTab = result.results;
    await (await page.$("#upload")).uploadFile(file);
    await waitFor(page, "the upload", () => /loaded .* into the harmonized model/.test(document.querySelector("#status").textContent));
  });

  await phase("reload → resume from the autosave, with the painted target", async () => {
    const autosaved = await page.$eval("#autosave", (el) => Number(el.dataset.step));
    check(autosaved === STEPS, `last autosave at step ${autosaved}`);
    await page.reload({ waitUntil: "load" });
    await waitFor(page, "the resume offer", () => !document.querySelector("#resume-offer").hidden);
    await page.click("#resume-button");
    await waitFor(page, "the resumed run", (k) => document.querySelector("#status").textContent.includes(`Resumed from the autosave at step ${k}, with 1 painted target.`) &&
      document.querySelector("#progress").dataset.step === String(k), autosaved);
  });

  await phase("paint a target, lose the device: the recovered run replays the same steps", async () => {
    // A new run autosaving only on pause: the device loss sends it back to the target's step.
    await page.$eval("input[name=steps]", (el) => (el.value = "6"));
    await page.$eval("input[name=autosaveEvery]", (el) => (el.value = "50"));
    await page.click("#new-run");
    await waitFreshRun(page, "a fresh run");
    await page.click("#step");
    await waitStep(page, 1);
    await paintMap(page);
    await page.click("#paint-add");
    await waitFor(page, "the painted target", () => document.querySelector("#status").textContent.includes("from step 2 on (1 painted"));
    await waitFor(page, "the autosave at step 1", () => document.querySelector("#autosave").dataset.step === "1");
    await page.evaluate(() => (globalThis.__steps = []));
    await page.click("#play");
    await waitStep(page, 3);
    await page.click("#lose-device");
    await waitFor(page, "recovery", () => document.querySelector("#status").dataset.recovered !== undefined);
    result.recoveredAt = await page.$eval("#status", (el) => Number(el.dataset.recovered));
    check(result.recoveredAt === 1, `recovered at ${result.recoveredAt}, not at the autosave of step 1`);
    await waitStep(page, 6);
    await waitPaused(page);
    // Steps 2… ran twice: before the loss and after the recovery. The painted target is in both.
    const events = await page.evaluate(() => globalThis.__steps);
    const key = (e) => `${e.member}@${e.step}`;
    const first = new Map();
    let replayed = 0;
    for (const e of events) {
      const before = first.get(key(e));
      if (!before) first.set(key(e), e);
      else {
        replayed++;
        check(JSON.stringify(before) === JSON.stringify(e), `step ${e.step} of the ${e.member} model differs after recovery:\n${JSON.stringify(before)}\n${JSON.stringify(e)}`);
      }
    }
    check(replayed >= 2, `only ${replayed} step events were replayed after the recovery`);
    result.replayedStepEvents = replayed;
  });

  await phase("open a shard file from disk", async () => {
    await (await page.$("#shard-files")).uploadFile(path.resolve(args.shard));
    await waitFreshRun(page, "the shard run");
    check((await text(page, "#data-name")).includes(path.basename(args.shard)), "data name");
    await page.click("#step");
    await waitStep(page, 1);
  });

  await phase("drop a shard file on the page", async () => {
    const name = `dropped-${path.basename(args.shard)}`;
    await page.$eval("#drop-zone", (zone, base64, fileName) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], fileName));
      for (const type of ["dragenter", "dragover", "drop"]) zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, shardBytes.toString("base64"), name);
    await waitFreshRun(page, "the dropped shard's run");
    check((await text(page, "#data-name")) === name, `data name: ${await text(page, "#data-name")}`);
    await page.click("#step");
    await waitStep(page, 1);
  });

  await phase("train from a shard URL, resumed with a Range request", async () => {
    const url = `${shardOrigin}/${path.basename(args.shard)}`;
    await page.$eval("#shard-urls", (el, value) => (el.value = value), url);
    await page.click("#url-form button[type=submit]");
    await waitFreshRun(page, "the URL run");
    check((await text(page, "#data-name")) === url, `data name: ${await text(page, "#data-name")}`);
    await page.click("#step");
    await waitStep(page, 1);
    const resumed = shardRequests.filter((r) => /^bytes=[1-9]\d*-$/.test(r.range));
    check(shardRequests[0]?.range === "" && resumed.length > 0, `requests to the shard server: ${JSON.stringify(shardRequests)}`);
    result.shardRequests = shardRequests;
  });

  await phase("the tiny ViT", async () => {
    await page.select("select[name=model]", "vit");
    await page.click("#new-run");
    await waitFreshRun(page, "the ViT run");
    check(/model=vit/.test(await page.evaluate(() => location.hash)), "the model choice is not in the URL hash");
    await page.click("#step");
    await waitStep(page, 1);
    const rows = await page.$$eval("#results tbody tr", (rows) => rows.map((r) => JSON.parse(r.dataset.evaluation)));
    check(rows.length === 2 && rows.every((e) => Number.isFinite(e.accuracy) && Number.isFinite(e.alignmentScore)), `ViT evaluation: ${JSON.stringify(rows)}`);
  });

  check(errors.length === 0, `console errors:\n${errors.join("\n")}`);
} catch (e) {
  exitCode = 1;
  console.error(`lab flow FAILED: ${e.message}`);
  if (errors.length) console.error(`console errors:\n${errors.join("\n")}`);
  await page.screenshot({ path: path.join(args.out, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  fs.writeFileSync(path.join(args.out, "result.json"), JSON.stringify(result, null, 2));
  await browser.close().catch(() => {});
  await new Promise((r) => server.httpServer.close(r));
  shardServer.closeAllConnections();
  await new Promise((r) => shardServer.close(r));
  fs.rmSync(outDir, { recursive: true, force: true });
}
process.exit(exitCode);
