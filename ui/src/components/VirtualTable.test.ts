import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// Vitest resolves `svelte` to its server build here (vite.config.ts sets no browser condition):
// the client one is what the app runs, and what mounting needs.
// @ts-expect-error: the file has no declarations of its own (they are the `svelte` module's).
vi.mock("svelte", async () => await import("../../node_modules/svelte/src/index-client.js"));

import { cleanup, render } from "@testing-library/svelte";
import { tick } from "svelte";
import Fixture from "./VirtualTable.fixture.svelte";

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
});
afterEach(() => cleanup());

type Cb = (offset: number, isScrolling: boolean) => void;

/** jsdom lays nothing out: a scroll box `height` px tall whose scroll position the test sets. */
function box(height: number) {
  let push: Cb | null = null;
  return {
    observe: {
      observeElementRect: (_: unknown, cb: (r: { width: number; height: number }) => void) => {
        cb({ width: 800, height });
      },
      observeElementOffset: (_: unknown, cb: Cb) => {
        push = cb;
        cb(0, false);
      },
    },
    async scrollTo(offset: number) {
      push?.(offset, true);
      push?.(offset, false);
      await tick();
    },
  };
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `id-${i}`, name: `r-${i}` }));
const names = (c: HTMLElement) => Array.from(c.querySelectorAll("tbody tr[data-row]")).map((tr) => tr.getAttribute("data-row"));

describe("VirtualTable (mounted)", () => {
  it("puts only the rows of the box in the page, and follows the scroll", async () => {
    const b = box(330);
    const { container } = render(Fixture, { items: rows(1000), observe: b.observe });
    await tick();
    expect(names(container)).toEqual(rows(18).map((r) => r.name));
    const spacer = container.querySelector<HTMLElement>("tr.vt-spacer td");
    expect(spacer?.style.height).toBe(`${982 * 33}px`);
    expect(container.querySelector("tr[data-row='r-3']")?.getAttribute("data-index")).toBe("3");

    await b.scrollTo(100 * 33);
    const shown = names(container);
    expect(shown[0]).toBe("r-92");
    expect(shown.at(-1)).toBe("r-117");
    expect(container.querySelectorAll("tr.vt-spacer").length).toBe(2);
  });

  it("a short list is all there; an empty one shows the empty row", async () => {
    const { container, rerender } = render(Fixture, { items: rows(3), observe: box(330).observe });
    await tick();
    expect(names(container)).toEqual(["r-0", "r-1", "r-2"]);
    expect(container.querySelectorAll("tr.vt-spacer").length).toBe(0);
    await rerender({ items: [] });
    expect(container.querySelector("[data-testid='empty']")?.textContent).toBe("Nothing");
  });

  it("a filtered list, then the whole one again", async () => {
    const all = rows(1000);
    const { container, rerender } = render(Fixture, { items: all, observe: box(330).observe });
    await tick();
    await rerender({ items: all.filter((r) => r.name.endsWith("99")) });
    expect(names(container)).toEqual(["r-99", "r-199", "r-299", "r-399", "r-499", "r-599", "r-699", "r-799", "r-899", "r-999"]);
    await rerender({ items: all });
    expect(names(container).length).toBe(18);
  });

  it("mounting 1,000 rows costs what 18 do", async () => {
    const t0 = performance.now();
    const { container } = render(Fixture, { items: rows(1000), observe: box(330).observe });
    await tick();
    const ms = performance.now() - t0;
    expect(container.querySelectorAll("tbody tr").length).toBeLessThanOrEqual(19);
    console.log(`VirtualTable: 1,000 rows mounted in ${ms.toFixed(1)} ms in jsdom, ${container.querySelectorAll("*").length} elements`);
  });
});
