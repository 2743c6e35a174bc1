// The last view is remembered across restarts; an unknown saved value falls back to the default.
import { beforeEach, describe, expect, it, vi } from "vitest";

describe("navigation", () => {
  beforeEach(() => {
    localStorage.clear();
    vi.resetModules();
  });

  it("reopens on the view left last", async () => {
    const first = await import("./nav.svelte");
    expect(first.nav.view).toBe("load-balancers");
    first.go("watch");
    vi.resetModules();
    const second = await import("./nav.svelte");
    expect(second.nav.view).toBe("watch");
    second.openDnsCutover("lb1");
    vi.resetModules();
    expect((await import("./nav.svelte")).nav.view).toBe("dns");
  });

  it("ignores a saved view it does not know", async () => {
    localStorage.setItem("cutover.view", "gone");
    expect((await import("./nav.svelte")).nav.view).toBe("load-balancers");
  });
});
