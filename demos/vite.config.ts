// Vite config of the browser lab: `npm run demo` serves it on 127.0.0.1, `npm run build` writes the
// static site to dist/. The library's WGSL kernels (`new URL("…/shaders/x.wgsl", import.meta.url)`)
// and the training worker are bundled as assets; the site needs no special headers.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const repository = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL("./lab", import.meta.url)),
  base: "./",
  publicDir: false,
  clearScreen: false,
  server: { host: "127.0.0.1", port: 5173, strictPort: false, open: true, fs: { allow: [repository] } },
  preview: { host: "127.0.0.1" },
  worker: { format: "es" },
  build: {
    outDir: fileURLToPath(new URL("../dist", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
  },
});
