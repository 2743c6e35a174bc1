// The About view's list of npm packages bundled into the UI (issue 18), generated at build time:
// after Rollup/Rolldown has bundled, every module whose code is in the output is traced to its
// package under node_modules, and that package's own package.json gives its name, version and
// licence. Written as `licences.json` into the build output, where the app reads it from Rust
// (src-tauri/src/about.rs). Plain JavaScript so the Vite config can load it without Node types.
import { readFileSync } from "node:fs";

/**
 * The package directory a bundled module comes from, or null for the app's own code.
 * @param {string} id a module id (a file path, maybe with a query, or a virtual id)
 * @returns {string | null}
 */
export function packageDirOf(id) {
  if (id.startsWith("\0")) return null;
  const path = id.split("?")[0].replaceAll("\\", "/");
  const marker = "/node_modules/";
  const at = path.lastIndexOf(marker);
  if (at < 0) return null;
  const rest = path.slice(at + marker.length).split("/");
  const depth = rest[0]?.startsWith("@") ? 2 : 1;
  if (rest.length <= depth || rest.slice(0, depth).some((part) => part === "")) return null;
  return path.slice(0, at + marker.length) + rest.slice(0, depth).join("/");
}

/**
 * One package's entry from its package.json text.
 * @param {string} text
 * @returns {{ name: string, version: string, license: string, repository: string | null }}
 */
export function entryOf(text) {
  const pkg = JSON.parse(text);
  let license = "(not stated)";
  if (typeof pkg.license === "string") license = pkg.license;
  else if (pkg.license && typeof pkg.license.type === "string") license = pkg.license.type;
  else if (Array.isArray(pkg.licenses)) {
    const types = pkg.licenses.map((/** @type {{ type?: string }} */ l) => l?.type).filter(Boolean);
    if (types.length) license = types.join(" OR ");
  }
  let repository = null;
  if (typeof pkg.repository === "string") repository = pkg.repository;
  else if (pkg.repository && typeof pkg.repository.url === "string") repository = pkg.repository.url;
  return { name: String(pkg.name), version: String(pkg.version), license, repository };
}

/**
 * The bundled packages, sorted by name, from the output chunks' module ids (modules tree-shaken
 * to nothing are left out: their code is not shipped).
 * @param {Iterable<[string, { renderedLength?: number }]>} modules
 * @param {(path: string) => string} read reads a file's text
 */
export function bundledPackages(modules, read) {
  const dirs = new Set();
  for (const [id, info] of modules) {
    if (info && info.renderedLength === 0) continue;
    const dir = packageDirOf(id);
    if (dir) dirs.add(dir);
  }
  const entries = new Map();
  for (const dir of dirs) {
    const entry = entryOf(read(`${dir}/package.json`));
    entries.set(`${entry.name}@${entry.version}`, entry);
  }
  return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** @returns {import("vite").Plugin} */
export function licences() {
  return {
    name: "cutover-licences",
    apply: "build",
    generateBundle(_options, bundle) {
      /** @type {[string, { renderedLength?: number }][]} */
      const modules = [];
      for (const file of Object.values(bundle)) {
        if (file.type === "chunk") modules.push(...Object.entries(file.modules));
      }
      const list = bundledPackages(modules, (path) => readFileSync(path, "utf8"));
      this.emitFile({ type: "asset", fileName: "licences.json", source: JSON.stringify(list, null, 1) });
    },
  };
}
