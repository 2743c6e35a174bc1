import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { licences } from "./licences-plugin.mjs";

// Tauri serves the built files itself; the dev server is only for `tauri dev`.
export default defineConfig({
  // licences(): the bundled npm packages' licences for the About view (licences.json).
  plugins: [svelte(), licences()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    // WebKitGTK / WKWebView / WebView2 all handle ES2021.
    target: "es2021",
    outDir: "dist",
    emptyOutDir: true,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
