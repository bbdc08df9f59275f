#!/usr/bin/env node
// Runs the data benchmark in headless Chromium: a Vite dev server on 127.0.0.1 serves
// bench/data/browser.html, puppeteer opens it and prints what the page logs.
// Usage: node bench/data/chromium.mjs [records]   (CHROMIUM_PATH, default /usr/bin/chromium)

import path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";
import puppeteer from "puppeteer";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const records = Number(process.argv[2] ?? 256);

const server = await createServer({
  root,
  configFile: false,
  envDir: false,
  appType: "mpa",
  logLevel: "warn",
  clearScreen: false,
  publicDir: false,
  server: { host: "127.0.0.1", port: 0, strictPort: true, hmr: false, watch: null },
  optimizeDeps: { entries: ["bench/data/browser.html"] },
});
await server.listen();
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-background-networking", "--no-first-run"],
  protocolTimeout: 0,
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.exposeFunction("__benchLog", (line) => {
    if (line.startsWith("error:")) failed = true;
    console.log(line);
  });
  const { port } = server.httpServer.address();
  await page.goto(`http://127.0.0.1:${port}/bench/data/browser.html?records=${records}`, { waitUntil: "load" });
  await page.waitForFunction("window.__benchDone === true", { timeout: 0, polling: 500 });
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
