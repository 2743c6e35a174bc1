// The About view's logic (issue 18), apart from Svelte so it can be tested: the shipped
// dependencies as one list (Rust crates and npm packages, both generated at build time), its
// filter, and what "Check for updates" found, in words.
import type {
  AboutInfo_Serialize as AboutInfo,
  Licensed_Serialize as Licensed,
  UpdateCheck_Serialize as UpdateCheck,
} from "./bindings";

export type Origin = "crate" | "npm";

export interface LicenceRow extends Licensed {
  origin: Origin;
  /** Unique within the list: origin, name and version. */
  key: string;
}

/** Both lists as one, crates first, each in the order given (sorted by name at build time). */
export function licenceRows(info: Pick<AboutInfo, "crates" | "ui_packages">): LicenceRow[] {
  const rows: LicenceRow[] = [];
  for (const [origin, list] of [
    ["crate", info.crates],
    ["npm", info.ui_packages],
  ] as const) {
    for (const item of list) {
      rows.push({ ...item, origin, key: `${origin}:${item.name}@${item.version}` });
    }
  }
  return rows;
}

/** The rows whose name or licence contains every word of `query` (case-insensitive). */
export function filterRows(rows: LicenceRow[], query: string): LicenceRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  return rows.filter((row) => {
    const text = `${row.name} ${row.version} ${row.license} ${row.origin}`.toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** A repository link fit for showing: https only (manifests also hold git+ and shorthand forms). */
export function repositoryUrl(repository: string | null | undefined): string | null {
  if (!repository) return null;
  const url = repository.replace(/^git\+/, "").replace(/\.git$/, "");
  return /^https:\/\/[^\s"'<>]+$/.test(url) ? url : null;
}

export type UpdateState = "newest" | "available" | "installed";

export interface UpdateSummary {
  state: UpdateState;
  text: string;
  /** Whether Install may be clicked now (nothing blocks a restart). */
  canInstall: boolean;
}

/** What a check found, in words, and whether Install may be offered now. */
export function updateSummary(check: UpdateCheck): UpdateSummary {
  const waits = check.waits_for.length > 0;
  if (check.offer) {
    return {
      state: "available",
      text: `Cutover ${check.offer.version} is available (you have ${check.current_version}).`,
      canInstall: !waits,
    };
  }
  if (check.installed) {
    return {
      state: "installed",
      text: `Cutover ${check.installed} is installed and starts at the next restart.`,
      canInstall: false,
    };
  }
  return {
    state: "newest",
    text: `You have the newest version (${check.current_version}).`,
    canInstall: false,
  };
}
