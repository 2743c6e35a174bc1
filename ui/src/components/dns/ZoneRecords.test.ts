// The zone's records table of the DNS plan step, mounted: only the rows of the box are in the
// page for a scroll position, the search filters and Esc clears it, the plan's changes are
// marked, and the keyboard reaches rows that are not rendered yet.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../../node_modules/svelte/src/index-client.js"));

import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";
import { tick } from "svelte";
import type { DnsPlan_Serialize as DnsPlan, DomainRecord_Serialize as DomainRecord } from "../../lib/bindings";
import ZoneRecords from "./ZoneRecords.svelte";

type Cb = (offset: number, isScrolling: boolean) => void;
// The scroll position the virtualizer sees; jsdom lays nothing out, so the test moves it.
let push: Cb | null = null;

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  // The scroll box is 290 px tall and its content tall enough to scroll to any row (the
  // virtualizer clamps a scroll to what the box says it can scroll).
  for (const [prop, value] of [["clientHeight", 10 * ROW], ["scrollHeight", 10_000_000]] as const) {
    Object.defineProperty(Element.prototype, prop, {
      configurable: true,
      get() {
        return (this as Element).classList.contains("vt-scroll") ? value : 0;
      },
    });
  }
  // A scroll the component asks for (bringing a row into view) lands at once.
  Element.prototype.scrollTo = function (opts?: ScrollToOptions | number) {
    const top = typeof opts === "object" ? (opts.top ?? 0) : 0;
    push?.(top, false);
  } as Element["scrollTo"];
});
afterEach(() => {
  cleanup();
  push = null;
});

const ROW = 29; // the component's estimate
/** A box `height` px tall (no header height: jsdom measures it as 0). */
const observe = (height: number) => ({
  observeElementRect: (_: unknown, cb: (r: { width: number; height: number }) => void) => cb({ width: 800, height }),
  observeElementOffset: (_: unknown, cb: Cb) => {
    push = cb;
    cb(0, false);
  },
});
async function scrollTo(offset: number) {
  push?.(offset, true);
  push?.(offset, false);
  await tick();
}
async function settle() {
  for (let i = 0; i < 5; i++) {
    await tick();
    await new Promise((r) => setTimeout(r, 0));
  }
}

const pad = (i: number) => String(i).padStart(5, "0");
/** `n` A records host-00000 … in a shuffled order, plus the apex and www. */
function zone(n: number): DomainRecord[] {
  const base = { priority: null, port: null, weight: null, flags: null, tag: null, ttl: 3600 };
  const hosts = Array.from({ length: n }, (_, i) => ({ ...base, id: 100 + i, type: "A", name: `host-${pad(i)}`, data: `127.3.${i >> 8}.${i & 255}` }));
  hosts.reverse();
  return [
    ...hosts,
    { ...base, id: 1, type: "A", name: "@", data: "192.0.2.1" },
    { ...base, id: 2, type: "CNAME", name: "www", data: "@" },
    { ...base, id: 3, type: "MX", name: "@", data: "mail.example.com", priority: 10 },
  ];
}
const plan: DnsPlan = {
  domain: "example.com",
  lb_ip: "203.0.113.9",
  lb_ipv6: null,
  ttl: 300,
  names: ["@", "www"],
  changes: [{ name: "@", action: "update", record_id: 1, before: { kind: "A", data: "192.0.2.1", ttl: 3600 }, after: { kind: "A", data: "203.0.113.9", ttl: 300 } }],
  ttl_step: null,
  rollback: [],
  provider_records: [],
};

const names = (c: HTMLElement) => Array.from(c.querySelectorAll<HTMLElement>("tbody tr[data-record] td:first-child")).map((td) => td.textContent);
const count = (c: HTMLElement) => c.querySelector("[data-testid='dns-records-count']")?.textContent?.trim();

describe("ZoneRecords", () => {
  it("5,003 records: the rows of a 290 px box plus the overscan, the apex first, for each scroll position", async () => {
    const { container } = render(ZoneRecords, { domain: "example.com", records: zone(5000), plan, observe: observe(10 * ROW) });
    await settle();
    expect(count(container)).toBe("5003 · 1 changed by the plan");
    // example.com (A, MX) first, then host-00000 … : 10 on screen and 8 below.
    expect(names(container)).toEqual(["example.com", "example.com", ...Array.from({ length: 16 }, (_, i) => `host-${pad(i)}.example.com`)]);
    expect(container.querySelector<HTMLElement>("tr.vt-spacer td")?.style.height).toBe(`${(5003 - 18) * ROW}px`);

    // Row 2000 at the top: rows 1992–2017 (8 above as overscan) and a spacer on each side.
    await scrollTo(2000 * ROW);
    const shown = names(container);
    expect(shown.length).toBe(26);
    expect(shown[0]).toBe(`host-${pad(1990)}.example.com`);
    expect(shown.at(-1)).toBe(`host-${pad(2015)}.example.com`);
    const spacers = container.querySelectorAll<HTMLElement>("tr.vt-spacer td");
    expect(Array.from(spacers, (td) => td.style.height)).toEqual([`${1992 * ROW}px`, `${(5003 - 2018) * ROW}px`]);

    // The end: www last, no spacer below.
    await scrollTo(5003 * ROW - 10 * ROW);
    expect(names(container).at(-1)).toBe("www.example.com");
    expect(container.querySelectorAll("tr.vt-spacer").length).toBe(1);
  });

  it("marks the record the plan changes and the others at its names", async () => {
    const { container } = render(ZoneRecords, { domain: "example.com", records: zone(3), plan, observe: observe(600) });
    await settle();
    const row = (id: number) => container.querySelector<HTMLElement>(`tr[data-record='id${id}']`);
    expect(row(1)?.classList.contains("changing")).toBe(true);
    expect(row(1)?.textContent).toContain("changes");
    expect(row(3)?.textContent).toContain("same name");
    expect(row(3)?.textContent).toContain("10 mail.example.com");
    expect(row(2)?.textContent).toContain("same name");
    expect(row(100)?.textContent).not.toContain("same name");
  });

  it("the search filters on name, type and data; Esc clears it back to the whole zone", async () => {
    const { container, getByTestId } = render(ZoneRecords, { domain: "example.com", records: zone(5000), plan, observe: observe(10 * ROW) });
    await settle();
    const search = getByTestId("dns-records-search") as HTMLInputElement;
    await fireEvent.input(search, { target: { value: "host-0499" } });
    await settle();
    expect(names(container)).toEqual(Array.from({ length: 10 }, (_, i) => `host-0499${i}.example.com`));
    expect(count(container)).toBe("10 of 5003 · 1 changed by the plan");
    await fireEvent.input(search, { target: { value: "cname @" } });
    await settle();
    expect(names(container)).toEqual(["www.example.com"]);
    await fireEvent.input(search, { target: { value: "nothing-like-this" } });
    await settle();
    expect(container.textContent).toContain("Nothing matches “nothing-like-this”.");

    const esc = await fireEvent.keyDown(search, { key: "Escape" });
    await settle();
    expect(esc).toBe(false); // consumed: nothing else closes on this Esc
    expect(search.value).toBe("");
    expect(count(container)).toBe("5003 · 1 changed by the plan");
    expect(names(container).length).toBe(18);
  });

  it("the keyboard: Arrow Down into the list, End to the last record (scrolled into view), Arrow Up back to the search", async () => {
    const { container, getByTestId } = render(ZoneRecords, { domain: "example.com", records: zone(5000), plan, observe: observe(10 * ROW) });
    await settle();
    const search = getByTestId("dns-records-search");
    search.focus();
    await fireEvent.keyDown(search, { key: "ArrowDown" });
    await settle();
    expect(document.activeElement?.getAttribute("data-record")).toBe("id1");
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowDown" });
    await settle();
    expect(document.activeElement?.getAttribute("data-record")).toBe("id3");

    await fireEvent.keyDown(document.activeElement!, { key: "End" });
    // The last row is not in the page until the box has scrolled to it (a frame or two).
    await waitFor(() => expect(document.activeElement?.getAttribute("data-record")).toBe("id2"));
    expect(document.activeElement?.getAttribute("tabindex")).toBe("0");
    expect(names(container)).not.toContain("example.com");
    expect(names(container).length).toBeLessThan(40);

    await fireEvent.keyDown(document.activeElement!, { key: "Home" });
    await waitFor(() => expect(document.activeElement?.getAttribute("data-record")).toBe("id1"));
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowUp" });
    expect(document.activeElement).toBe(search);
  });
});
