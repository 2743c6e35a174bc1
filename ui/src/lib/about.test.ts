import { describe, expect, it } from "vitest";
import { filterRows, licenceRows, repositoryUrl, updateSummary } from "./about";
import type { Licensed_Serialize as Licensed, UpdateCheck_Serialize as UpdateCheck } from "./bindings";

const item = (name: string, license: string, repository: string | null = null): Licensed => ({
  name,
  version: "1.0.0",
  license,
  repository,
});

describe("the licence list", () => {
  const rows = licenceRows({
    crates: [item("tokio", "MIT"), item("ring", "Apache-2.0 AND ISC")],
    ui_packages: [item("svelte", "MIT"), item("@tauri-apps/api", "Apache-2.0 OR MIT")],
  });

  it("puts crates and npm packages in one list with unique keys", () => {
    expect(rows.map((r) => [r.origin, r.name])).toEqual([
      ["crate", "tokio"],
      ["crate", "ring"],
      ["npm", "svelte"],
      ["npm", "@tauri-apps/api"],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
  });

  it("filters by every word, in the name or the licence", () => {
    expect(filterRows(rows, "").length).toBe(4);
    expect(filterRows(rows, "mit").map((r) => r.name)).toEqual(["tokio", "svelte", "@tauri-apps/api"]);
    expect(filterRows(rows, "MIT npm").map((r) => r.name)).toEqual(["svelte", "@tauri-apps/api"]);
    expect(filterRows(rows, "isc").map((r) => r.name)).toEqual(["ring"]);
    expect(filterRows(rows, "gpl")).toEqual([]);
  });

  it("links a repository only as an https URL", () => {
    expect(repositoryUrl("git+https://github.com/sveltejs/svelte.git")).toBe("https://github.com/sveltejs/svelte");
    expect(repositoryUrl("https://github.com/tokio-rs/tokio")).toBe("https://github.com/tokio-rs/tokio");
    expect(repositoryUrl("lukeed/clsx")).toBeNull();
    expect(repositoryUrl("javascript:alert(1)")).toBeNull();
    expect(repositoryUrl(null)).toBeNull();
  });
});

describe("what a check for updates found", () => {
  const base: UpdateCheck = { current_version: "0.1.0", offer: null, installed: null, waits_for: [] };

  it("says when this is the newest version", () => {
    const s = updateSummary(base);
    expect(s.state).toBe("newest");
    expect(s.text).toContain("0.1.0");
    expect(s.canInstall).toBe(false);
  });

  it("offers a newer version, unless something blocks the restart", () => {
    const offer = { version: "0.2.0", notes: "Faster.", date: null };
    expect(updateSummary({ ...base, offer })).toMatchObject({ state: "available", canInstall: true });
    const waiting = updateSummary({ ...base, offer, waits_for: ["the rehearsal balancer is running"] });
    expect(waiting.state).toBe("available");
    expect(waiting.canInstall).toBe(false);
    expect(waiting.text).toContain("0.2.0");
  });

  it("says an installed update waits for a restart", () => {
    const s = updateSummary({ ...base, installed: "0.2.0" });
    expect(s.state).toBe("installed");
    expect(s.text).toContain("next restart");
  });
});
