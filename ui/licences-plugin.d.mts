// Types of licences-plugin.mjs (plain JavaScript so the Vite config needs no Node types).
import type { Plugin } from "vite";

export interface PackageEntry {
  name: string;
  version: string;
  license: string;
  repository: string | null;
}
export function packageDirOf(id: string): string | null;
export function entryOf(text: string): PackageEntry;
export function bundledPackages(
  modules: Iterable<[string, { renderedLength?: number }]>,
  read: (path: string) => string,
): PackageEntry[];
export function licences(): Plugin;
