import { describe, expect, it } from "vitest";
import { createWindow, rowKeyTarget, tableWindow, type TableVirtualizer } from "./virtual";

type Cb = (offset: number, isScrolling: boolean) => void;

/**
 * The windowing VirtualTable.svelte uses, on a scroll box `height` px tall holding `count` rows of
 * 33 px below a `head` px header; jsdom lays nothing out, so the box's size and scroll position are
 * driven by hand through the observers the virtualizer takes.
 */
function setup(count: number, height: number, head = 0) {
  let push: Cb | null = null;
  let changes = 0;
  const el = document.createElement("div");
  const v: TableVirtualizer = createWindow({
    count,
    key: (i) => `id-${i}`,
    getScrollElement: () => el,
    estimate: 33,
    overscan: 8,
    headHeight: head,
    onChange: () => changes++,
    observe: {
      observeElementRect: (_, cb) => {
        cb({ width: 800, height });
      },
      observeElementOffset: (_, cb) => {
        push = cb;
        cb(0, false);
      },
    },
  });
  const cleanup = v._didMount();
  v._willUpdate();
  const indexes = () => tableWindow(v).rows.map((r) => r.index);
  return {
    v,
    indexes,
    window: () => tableWindow(v),
    scrollTo(offset: number) {
      push?.(offset, true);
      push?.(offset, false);
    },
    changes: () => changes,
    cleanup,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("the rows rendered for a scroll position", () => {
  it("at the top of a 330 px box: the 10 rows on screen and 8 below", () => {
    const w = setup(1000, 330);
    expect(w.indexes()).toEqual(range(0, 17));
    expect(w.window().top).toBe(0);
    // One spacer below stands for the 982 other rows.
    expect(w.window().bottom).toBe(982 * 33);
    w.cleanup();
  });

  it("scrolled to row 100: rows 92–117, spacers for the rest", () => {
    const w = setup(1000, 330);
    w.scrollTo(100 * 33);
    expect(w.indexes()).toEqual(range(92, 117));
    expect(w.window().top).toBe(92 * 33);
    expect(w.window().bottom).toBe((1000 - 118) * 33);
    expect(w.changes()).toBeGreaterThan(0);
    w.cleanup();
  });

  it("at the bottom: the last rows, no spacer below", () => {
    const w = setup(1000, 330);
    w.scrollTo(1000 * 33 - 330);
    const rows = w.indexes();
    expect(rows.at(-1)).toBe(999);
    expect(rows[0]).toBe(990 - 8);
    expect(w.window().bottom).toBe(0);
    w.cleanup();
  });

  it("the spacers and rows always add up to the whole list", () => {
    const w = setup(1000, 330);
    for (const offset of [0, 1, 500, 12_345, 20_000, 32_670]) {
      w.scrollTo(offset);
      const { rows, top, bottom } = w.window();
      const rendered = rows.reduce((sum, r) => sum + r.size, 0);
      expect(top + rendered + bottom, `at ${offset}`).toBe(1000 * 33);
    }
    w.cleanup();
  });

  it("counts from below the header: a 40 px header shifts nothing in the body", () => {
    const w = setup(1000, 330, 40);
    expect(w.indexes()[0]).toBe(0);
    // Scrolled by 40 + 100 rows: row 100 is at the top of the body, under the header.
    w.scrollTo(40 + 100 * 33);
    expect(w.indexes()).toContain(100);
    expect(w.window().top).toBe(w.window().rows[0].index * 33);
    w.cleanup();
  });

  it("a short list is all there, with no spacers", () => {
    const w = setup(3, 330);
    expect(w.indexes()).toEqual([0, 1, 2]);
    expect(w.window()).toMatchObject({ top: 0, bottom: 0 });
    w.cleanup();
  });

  it("an empty list renders nothing", () => {
    const w = setup(0, 330);
    expect(w.window()).toEqual({ rows: [], top: 0, bottom: 0 });
    w.cleanup();
  });

  it("a row measured taller pushes the rows below it down (one fewer fits)", () => {
    const w = setup(1000, 330);
    w.v.resizeItem(3, 66);
    const { rows, top, bottom } = w.window();
    expect(rows[3].size).toBe(66);
    expect(rows[4].start).toBe(rows[3].start + 66);
    expect(rows.map((r) => r.index)).toEqual(range(0, 16));
    expect(top + rows.reduce((s, r) => s + r.size, 0) + bottom).toBe(999 * 33 + 66);
    w.cleanup();
  });
});

describe("rowKeyTarget", () => {
  it("moves by a row, a page and to the ends, clamped; Arrow Up on the first row goes to the search", () => {
    expect(rowKeyTarget("ArrowDown", 3, 10, 4)).toBe(4);
    expect(rowKeyTarget("ArrowDown", 9, 10, 4)).toBe(9);
    expect(rowKeyTarget("ArrowUp", 3, 10, 4)).toBe(2);
    expect(rowKeyTarget("ArrowUp", 0, 10, 4)).toBe("search");
    expect(rowKeyTarget("PageDown", 8, 10, 4)).toBe(9);
    expect(rowKeyTarget("PageUp", 2, 10, 4)).toBe(0);
    expect(rowKeyTarget("Home", 7, 10, 4)).toBe(0);
    expect(rowKeyTarget("End", 1, 10, 4)).toBe(9);
    expect(rowKeyTarget("Enter", 1, 10, 4)).toBeNull();
  });
});
