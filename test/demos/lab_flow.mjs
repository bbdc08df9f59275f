#!/usr/bin/env node
// Drives the BUILT lab (vite build → vite preview on 127.0.0.1) in headless Chromium through the whole
// flow a user takes: start, pause, resume, λ change, single step, painting a map and reading its score,
// reload → resume from OPFS, a forced device loss → recovery, download → upload of a checkpoint, a shard
// file opened from disk, and the page at 360 px. Fails on any console error (page or worker) and on any
// main-thread long task over 100 ms while training runs. Run by test/demos/lab.deno.test.ts:
//
//   node test/demos/lab_flow.mjs --shard FILE --out DIR
//
// DIR receives lab.png (the screenshot after training), the downloaded checkpoint and result.json.
import fs from "node:fs";
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

const { build, preview } = await import("vite");
const configFile = path.join(ROOT, "demos/vite.config.ts");
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "harmonize-lab-"));
await build({ configFile, logLevel: "warn", build: { outDir, emptyOutDir: true } });
const server = await preview({ configFile, logLevel: "warn", build: { outDir }, preview: { host: "127.0.0.1", port: 0, strictPort: false } });
const origin = server.resolvedUrls.local[0].replace(/\/$/, "");

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
  // The long-task probe: every main-thread task over 50 ms is recorded, with the time it started.
  await page.evaluateOnNewDocument(() => {
    globalThis.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) globalThis.__longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: "longtask", buffered: true });
  });
  return page;
}

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
    await page.click("#play");
    // The probe starts once the first step is done: the first one also compiles every GPU pipeline,
    // which keeps a CPU-only machine (SwiftShader) too busy to say anything about the page.
    await waitStep(page, 1);
    trainingSince = await pageNow(page);
    await waitStep(page, 2);
    await page.click("#pause");
    await waitPaused(page);
    const paused = await step(page);
    await new Promise((r) => setTimeout(r, 1500));
    check(await step(page) === paused, "training went on after pause");
  });

  await phase("change λ_h between steps", async () => {
    await page.$eval("input[name=lambdaH]", (el) => {
      el.value = "2.5";
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    check(/lambdaH=2\.5/.test(await page.evaluate(() => location.hash)), "λ_h is not in the URL hash");
    check(/λ_h is now 2.5/.test(await text(page, "#status")), "no confirmation of the λ_h change");
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
  // Collected before the checks below, whose layout reads are the test's own main-thread work.
  result.longTasksWhileTraining = await longTasksSince(page, trainingSince);

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

  await phase("paint a map and read its score", async () => {
    await page.$eval("#paint-canvas", (el) => el.scrollIntoView({ block: "center" }));
    const box = await (await page.$("#paint-canvas")).boundingBox();
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.4);
    await page.mouse.down();
    for (let k = 1; k <= 8; k++) await page.mouse.move(box.x + box.width * (0.45 + 0.02 * k), box.y + box.height * (0.4 + 0.01 * k));
    await page.mouse.up();
    const scores = await page.$$eval("#paint-scores tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    check(scores.length === 3, `paint scores: ${JSON.stringify(scores)}`);
    for (const [, rho, alignment] of scores) check(Number.isFinite(Number(rho)) && Number.isFinite(Number(alignment)), `score not a number: ${scores}`);
    result.paintScores = scores;
  });

  await phase("train to the end; screenshot", async () => {
    trainingSince = await pageNow(page);
    await page.click("#play");
    await waitStep(page, STEPS);
    await waitPaused(page);
    result.longTasksWhileTraining.push(...await longTasksSince(page, trainingSince));
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

  const autosaved = await page.$eval("#progress", (el) => Number(el.dataset.autosaved));
  await phase("reload → resume from the autosave", async () => {
    check(autosaved === STEPS, `last autosave at step ${autosaved}`);
    await page.reload({ waitUntil: "load" });
    await waitFor(page, "the resume offer", () => !document.querySelector("#resume-offer").hidden);
    await page.click("#resume-button");
    await waitFor(page, "the resumed run", (k) => document.querySelector("#status").textContent.includes(`Resumed from the autosave at step ${k}`) &&
      document.querySelector("#progress").dataset.step === String(k), autosaved);
  });

  await phase("device loss → recovery from the autosave", async () => {
    // A new, longer run so that the loss happens while training.
    await page.$eval("input[name=steps]", (el) => (el.value = "4"));
    await page.click("#new-run");
    await waitFor(page, "a fresh run", () => document.querySelector("#progress").dataset.step === "0" && !document.querySelector("#play").disabled);
    await page.click("#play");
    await waitFor(page, "an autosave", () => Number(document.querySelector("#progress").dataset.autosaved) >= 2);
    await page.click("#lose-device");
    await waitFor(page, "recovery", () => document.querySelector("#status").dataset.recovered !== undefined);
    result.recoveredAt = await page.$eval("#status", (el) => Number(el.dataset.recovered));
    check(result.recoveredAt >= 2, `recovered at ${result.recoveredAt}`);
    await waitStep(page, 4);
    await waitPaused(page);
  });

  await phase("open a shard file from disk", async () => {
    await (await page.$("#shard-files")).uploadFile(path.resolve(args.shard));
    await waitFor(page, "the shard run", () => document.querySelector("#progress").dataset.step === "0" && !document.querySelector("#play").disabled);
    check((await text(page, "#data-name")).includes(path.basename(args.shard)), "data name");
    await page.click("#step");
    await waitStep(page, 1);
  });

  const long = result.longTasksWhileTraining.filter((t) => t.duration > LONG_TASK_MS);
  result.longestTaskMs = Math.max(0, ...result.longTasksWhileTraining.map((t) => t.duration));
  check(long.length === 0, `main-thread tasks over ${LONG_TASK_MS} ms while training: ${JSON.stringify(long)}`);
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
  fs.rmSync(outDir, { recursive: true, force: true });
}
process.exit(exitCode);
