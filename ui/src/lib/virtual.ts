// The windowing of long tables (issue 20), apart from Svelte so it can be tested: how
// @tanstack/virtual-core is set up for a table in a scrolling box, and which rows and spacers a
// scroll position gives. components/VirtualTable.svelte is the Svelte side.
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
  type VirtualizerOptions,
} from "@tanstack/virtual-core";

export type TableVirtualizer = Virtualizer<HTMLDivElement, HTMLTableRowElement>;
export type Observers = Pick<
  VirtualizerOptions<HTMLDivElement, HTMLTableRowElement>,
  "observeElementRect" | "observeElementOffset"
>;

export interface WindowConfig {
  count: number;
  key: (index: number) => string | number;
  getScrollElement: () => HTMLDivElement | null;
  /** Expected row height in px until a row is measured. */
  estimate: number;
  /** Rows rendered beyond each edge of the visible ones. */
  overscan: number;
  /** Height of the (sticky) header above the rows, in px. */
  headHeight: number;
  onChange: () => void;
  /** Replaces the DOM observers (tests: jsdom lays nothing out). */
  observe?: Observers;
}

/**
 * A row's height without forcing a layout: from the ResizeObserver entry (delivered after layout,
 * for every row as it appears and whenever it changes size), else the last one known, else the
 * estimate. The library's default reads `offsetHeight` as each row is attached, which lays out the
 * whole table once per row.
 */
export function measureRow(
  el: HTMLTableRowElement,
  entry: ResizeObserverEntry | undefined,
  instance: TableVirtualizer,
): number {
  const box = entry?.borderBoxSize?.[0];
  if (box) return Math.round(box.blockSize);
  if (entry) return Math.round(el.getBoundingClientRect().height);
  const index = instance.indexFromElement(el);
  return instance.itemSizeCache.get(instance.options.getItemKey(index)) ?? instance.options.estimateSize(index);
}

export function windowOptions(c: WindowConfig): VirtualizerOptions<HTMLDivElement, HTMLTableRowElement> {
  return {
    count: c.count,
    getScrollElement: c.getScrollElement,
    estimateSize: () => c.estimate,
    getItemKey: c.key,
    overscan: c.overscan,
    // The body starts below the header; rows brought into view stop below it too.
    scrollMargin: c.headHeight,
    scrollPaddingStart: c.headHeight,
    // Before the box is measured, assume it is as tall as the window: the first render already
    // fills the screen instead of growing over several frames.
    initialRect: { width: 0, height: typeof window === "undefined" ? 800 : window.innerHeight },
    scrollToFn: elementScroll,
    observeElementRect: c.observe?.observeElementRect ?? observeElementRect,
    observeElementOffset: c.observe?.observeElementOffset ?? observeElementOffset,
    measureElement: measureRow,
    onChange: c.onChange,
  };
}

export function createWindow(c: WindowConfig): TableVirtualizer {
  return new Virtualizer<HTMLDivElement, HTMLTableRowElement>(windowOptions(c));
}

/** The rows to render, and the heights of the spacer rows standing for the others. */
export interface TableWindow {
  rows: VirtualItem[];
  top: number;
  bottom: number;
}

export function tableWindow(v: TableVirtualizer): TableWindow {
  const rows = v.getVirtualItems();
  if (!rows.length) return { rows, top: 0, bottom: 0 };
  // Item offsets count from the top of the scroll box (the header included); the total does not.
  const margin = v.options.scrollMargin;
  const top = rows[0].start - margin;
  const bottom = v.getTotalSize() - (rows[rows.length - 1].end - margin);
  return { rows, top: Math.max(0, top), bottom: Math.max(0, bottom) };
}

/**
 * Where a key pressed on row `index` of a windowed list of `count` rows moves the focus: Arrow
 * Up/Down a row, Page Up/Down by `page` rows, Home/End to the ends (clamped to the list);
 * `"search"` for Arrow Up on the first row (back to the list's search field); `null` for a key
 * the list does not handle. One mapping for every keyboard-navigable windowed list.
 */
export function rowKeyTarget(key: string, index: number, count: number, page: number): number | "search" | null {
  let next: number;
  switch (key) {
    case "ArrowDown":
      next = index + 1;
      break;
    case "ArrowUp":
      if (index <= 0) return "search";
      next = index - 1;
      break;
    case "PageDown":
      next = index + page;
      break;
    case "PageUp":
      next = index - page;
      break;
    case "Home":
      next = 0;
      break;
    case "End":
      next = count - 1;
      break;
    default:
      return null;
  }
  return Math.max(0, Math.min(count - 1, next));
}
