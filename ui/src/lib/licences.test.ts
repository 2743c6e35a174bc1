// The Vite plugin that lists the UI's bundled npm packages for the About view
// (ui/licences-plugin.mjs): module ids traced to their packages, each package's own manifest read.
import { describe, expect, it } from "vitest";
import { bundledPackages, entryOf, packageDirOf } from "../../licences-plugin.mjs";

describe("the bundled packages' licences", () => {
  it("finds the package of a bundled module, scoped or not, nested or not", () => {
    expect(packageDirOf("/w/ui/node_modules/svelte/src/internal/client/index.js")).toBe("/w/ui/node_modules/svelte");
    expect(packageDirOf("/w/ui/node_modules/@tauri-apps/api/core.js?v=1")).toBe("/w/ui/node_modules/@tauri-apps/api");
    expect(packageDirOf("/w/ui/node_modules/a/node_modules/b/index.js")).toBe("/w/ui/node_modules/a/node_modules/b");
    expect(packageDirOf("C:\\w\\ui\\node_modules\\uplot\\dist\\uPlot.esm.js")).toBe("C:/w/ui/node_modules/uplot");
    expect(packageDirOf("/w/ui/src/App.svelte")).toBeNull();
    expect(packageDirOf("\0virtual:module")).toBeNull();
    expect(packageDirOf("/w/ui/node_modules/@scope")).toBeNull();
  });

  it("reads the licence in each manifest form", () => {
    expect(entryOf('{"name":"a","version":"1.0.0","license":"MIT"}').license).toBe("MIT");
    expect(entryOf('{"name":"b","version":"1.0.0","license":{"type":"BSD-3-Clause"}}').license).toBe("BSD-3-Clause");
    expect(entryOf('{"name":"c","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"GPL-2.0"}]}').license).toBe(
      "MIT OR GPL-2.0",
    );
    expect(entryOf('{"name":"d","version":"1.0.0"}').license).toBe("(not stated)");
    expect(entryOf('{"name":"e","version":"1","license":"MIT","repository":{"url":"git+https://x/e.git"}}').repository).toBe(
      "git+https://x/e.git",
    );
  });

  it("lists each shipped package once, sorted, leaving out code tree-shaken away", () => {
    const files: Record<string, string> = {
      "/n/node_modules/svelte/package.json": '{"name":"svelte","version":"5.0.0","license":"MIT"}',
      "/n/node_modules/@tanstack/virtual-core/package.json": '{"name":"@tanstack/virtual-core","version":"3.0.0","license":"MIT"}',
      "/n/node_modules/unused/package.json": '{"name":"unused","version":"1.0.0","license":"GPL-3.0"}',
    };
    const list = bundledPackages(
      [
        ["/n/node_modules/svelte/src/a.js", { renderedLength: 10 }],
        ["/n/node_modules/svelte/src/b.js", { renderedLength: 5 }],
        ["/n/node_modules/@tanstack/virtual-core/dist/index.js", { renderedLength: 7 }],
        ["/n/node_modules/unused/index.js", { renderedLength: 0 }],
        ["/n/src/App.svelte", { renderedLength: 99 }],
      ],
      (path) => {
        const text = files[path];
        if (!text) throw new Error(`unexpected read of ${path}`);
        return text;
      },
    );
    expect(list.map((p) => `${p.name}@${p.version} ${p.license}`)).toEqual([
      "@tanstack/virtual-core@3.0.0 MIT",
      "svelte@5.0.0 MIT",
    ]);
  });
});
