// views/LoadBalancers.svelte with 1,000 load balancers behind a mocked IPC. jsdom lays nothing
// out: the list's scroll box is said to be 600 px tall, rows are taken at their estimated height.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// @ts-expect-error: the file has no declarations of its own (they are the `svelte` module's).
vi.mock("svelte", async () => await import("../../node_modules/svelte/src/index-client.js"));

import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { tick } from "svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import LoadBalancers, { forgetKeptList } from "../views/LoadBalancers.svelte";
import { accountVersion } from "../lib/accounts.svelte";

// A row as core's `LbRow` sends it.
const lb = (i: number, over: Record<string, unknown> = {}) => ({
  id: `id-${i}`,
  name: `lb-${String(i).padStart(4, "0")}`,
  status: "active",
  ip: `10.0.${i >> 8}.${i & 255}`,
  region: { slug: "ams3", name: "Amsterdam 3" },
  type: "REGIONAL",
  size_unit: 1,
  size: null,
  droplet_count: 2,
  tag: "",
  passthrough: false,
  redirect_http_to_https: false,
  enable_proxy_protocol: false,
  ...over,
});

let answer: () => unknown[] = () => [];
// The list's `kubernetes` entries (absent, as an older backend sends, when undefined).
let owned: unknown[] | undefined;
let calls = 0;

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  Object.defineProperty(Element.prototype, "clientHeight", {
    configurable: true,
    get() {
      return (this as Element).classList.contains("vt-scroll") ? 600 : 0;
    },
  });
});
afterEach(() => {
  cleanup();
  forgetKeptList();
  clearMocks();
  owned = undefined;
});

function serve(list: () => unknown[]) {
  answer = list;
  calls = 0;
  mockIPC((cmd) => {
    if (cmd === "list_load_balancers") {
      calls++;
      // A fresh copy every time, as the IPC gives.
      return JSON.parse(JSON.stringify({ loadBalancers: answer(), rateLimit: null, kubernetes: owned }));
    }
    throw new Error(`no mock for ${cmd}`);
  });
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    await tick();
    await new Promise((r) => setTimeout(r, 0));
  }
}

const rowsOf = (c: HTMLElement) => Array.from(c.querySelectorAll<HTMLTableRowElement>("tbody tr[data-lb]"));

describe("the load-balancer list", () => {
  it("1,000 load balancers: a few rows in the page, the count says 1000", async () => {
    serve(() => Array.from({ length: 1000 }, (_, i) => lb(i)));
    const { container, getByTestId } = render(LoadBalancers);
    await settle();
    const rows = rowsOf(container);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(40);
    expect(rows[0].dataset.lb).toBe("lb-0000");
    expect(getByTestId("lb-count").textContent?.trim()).toBe("1000");
  });

  it("a refresh that changes nothing leaves every row element in place; a change redraws one row", async () => {
    const list = Array.from({ length: 1000 }, (_, i) => lb(i));
    serve(() => list);
    const { container, getByTestId } = render(LoadBalancers);
    await settle();
    const before = rowsOf(container);
    const texts = before.map((r) => r.textContent);

    await fireEvent.click(getByTestId("lb-refresh"));
    await settle();
    expect(calls).toBe(2);
    const after = rowsOf(container);
    expect(after).toEqual(before);
    after.forEach((r, i) => expect(r).toBe(before[i]));
    expect(after.map((r) => r.textContent)).toEqual(texts);

    list[2] = lb(2, { status: "errored" });
    await fireEvent.click(getByTestId("lb-refresh"));
    await settle();
    const changed = rowsOf(container);
    // Same elements (keyed by id), and only row 2's text changed.
    changed.forEach((r, i) => expect(r).toBe(before[i]));
    const differ = changed.map((r, i) => r.textContent !== texts[i]);
    expect(differ.filter(Boolean).length).toBe(1);
    expect(differ[2]).toBe(true);
  });

  it("a refresh sends the list's fingerprint back; an unchanged answer keeps every row as it is", async () => {
    const list = Array.from({ length: 5 }, (_, i) => lb(i));
    const known: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== "list_load_balancers") throw new Error(`no mock for ${cmd}`);
      known.push((args as { known: unknown }).known);
      // The command's contract: the fingerprint named, nothing of the list is sent.
      return (args as { known: unknown }).known === "fp-1"
        ? { loadBalancers: [], rateLimit: null, kubernetes: [], fingerprint: "fp-1", unchanged: true }
        : JSON.parse(JSON.stringify({ loadBalancers: list, rateLimit: null, kubernetes: [], fingerprint: "fp-1", unchanged: false }));
    });
    const { container, getByTestId } = render(LoadBalancers);
    await settle();
    const before = rowsOf(container);
    expect(before).toHaveLength(5);
    await fireEvent.click(getByTestId("lb-refresh"));
    await settle();
    expect(known).toEqual([null, "fp-1"]);
    const after = rowsOf(container);
    expect(after).toHaveLength(5);
    after.forEach((r, i) => expect(r).toBe(before[i]));
    expect(getByTestId("lb-count").textContent?.trim()).toBe("5");
  });

  it("coming back to the view shows the last list at once and asks only whether it changed", async () => {
    const list = Array.from({ length: 5 }, (_, i) => lb(i));
    const known: unknown[] = [];
    // The second visit's answer is held back until released: the rows must not wait for it.
    let release: () => void = () => {};
    mockIPC(async (cmd, args) => {
      if (cmd !== "list_load_balancers") throw new Error(`no mock for ${cmd}`);
      const k = (args as { known: unknown }).known;
      known.push(k);
      if (k === "fp-1") {
        await new Promise<void>((r) => (release = r));
        return { loadBalancers: [], rateLimit: null, kubernetes: [], fingerprint: "fp-1", unchanged: true };
      }
      return JSON.parse(JSON.stringify({ loadBalancers: list, rateLimit: null, kubernetes: [], fingerprint: "fp-1", unchanged: false }));
    });
    const first = render(LoadBalancers);
    await settle();
    expect(rowsOf(first.container)).toHaveLength(5);
    first.unmount();

    const again = render(LoadBalancers);
    await tick();
    expect(rowsOf(again.container)).toHaveLength(5);
    expect(again.getByTestId("lb-count").textContent?.trim()).toBe("5");
    expect(known).toEqual([null, "fp-1"]);
    release();
    await settle();
    expect(rowsOf(again.container)).toHaveLength(5);
    again.unmount();

    // Another account: its list is never shown from the last one's.
    accountVersion.value++;
    mockIPC(async () => new Promise(() => {}));
    const other = render(LoadBalancers);
    await settle();
    expect(rowsOf(other.container)).toHaveLength(0);
  });

  it("a view left while its refresh is under way does not go on polling", async () => {
    let release: () => void = () => {};
    let listCalls = 0;
    mockIPC(async (cmd) => {
      if (cmd !== "list_load_balancers") throw new Error(`no mock for ${cmd}`);
      listCalls++;
      await new Promise<void>((r) => (release = r));
      return { loadBalancers: [lb(1)], rateLimit: null, kubernetes: [], fingerprint: "fp-1", unchanged: false };
    });
    const view = render(LoadBalancers);
    await tick();
    expect(listCalls).toBe(1);
    view.unmount();
    vi.useFakeTimers();
    try {
      release();
      // Well past the poll's cadence: no timer of the left view asks again.
      await vi.advanceTimersByTimeAsync(120_000);
      expect(listCalls).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("the search filters, says how many of how many, and Esc clears it", async () => {
    serve(() => Array.from({ length: 1000 }, (_, i) => lb(i)));
    const { container, getByTestId } = render(LoadBalancers);
    await settle();
    const search = getByTestId("lb-search") as HTMLInputElement;
    await fireEvent.input(search, { target: { value: "lb-099" } });
    await settle();
    expect(rowsOf(container).map((r) => r.dataset.lb)).toEqual(Array.from({ length: 10 }, (_, i) => `lb-099${i}`));
    expect(getByTestId("lb-count").textContent?.trim()).toBe("10 of 1000");
    await fireEvent.keyDown(search, { key: "Escape" });
    await settle();
    expect(search.value).toBe("");
    expect(rowsOf(container)[0].dataset.lb).toBe("lb-0000");
    expect(getByTestId("lb-count").textContent?.trim()).toBe("1000");
  });

  it("sorting by a header reorders the rows", async () => {
    serve(() => Array.from({ length: 50 }, (_, i) => lb(i, { droplet_ids: Array.from({ length: i % 7 }, (_, k) => k) })));
    const { container, getByText } = render(LoadBalancers);
    await settle();
    await fireEvent.click(getByText("Name ▲"));
    await settle();
    expect(rowsOf(container)[0].dataset.lb).toBe("lb-0049");
    await fireEvent.click(getByText("Droplets"));
    await settle();
    expect(rowsOf(container)[0].textContent).toContain("0");
  });

  it("Arrow Down from the search focuses the first row, then the next", async () => {
    serve(() => Array.from({ length: 1000 }, (_, i) => lb(i)));
    const { container, getByTestId } = render(LoadBalancers);
    await settle();
    const search = getByTestId("lb-search");
    search.focus();
    await fireEvent.keyDown(search, { key: "ArrowDown" });
    await settle();
    expect(document.activeElement?.textContent).toBe("lb-0000");
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowDown" });
    await settle();
    expect(document.activeElement?.textContent).toBe("lb-0001");
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowUp" });
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowUp" });
    await settle();
    expect(document.activeElement).toBe(search);
    expect(rowsOf(container).length).toBeLessThan(40);
  });

  it("closing the detail gives focus back to its row, unless the user has put it elsewhere meanwhile", async () => {
    serve(() => Array.from({ length: 50 }, (_, i) => lb(i)));
    const { container, getByTestId, queryByTestId } = render(LoadBalancers);
    await settle();
    const search = getByTestId("lb-search");
    const frames = () => new Promise((r) => setTimeout(r, 120));

    // Closed and left alone: focus goes back to the row it was opened from.
    await fireEvent.click(rowsOf(container)[3].querySelector("button.link")!);
    await settle();
    await fireEvent.click(getByTestId("close-detail"));
    await frames();
    await settle();
    expect(queryByTestId("lb-detail")).toBeNull();
    expect(document.activeElement?.textContent).toBe("lb-0003");

    // Closed, then `/` before the list has settled: the search keeps the focus.
    await fireEvent.click(rowsOf(container)[5].querySelector("button.link")!);
    await settle();
    getByTestId("close-detail").focus();
    await fireEvent.click(getByTestId("close-detail"));
    await tick();
    await fireEvent.keyDown(window, { key: "/" });
    expect(document.activeElement).toBe(search);
    await frames();
    await settle();
    expect(document.activeElement).toBe(search);
  });

  it("sets the startup mark once the list is painted", async () => {
    performance.clearMarks("cutover:lb-list-rendered");
    serve(() => [lb(1)]);
    render(LoadBalancers);
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(performance.getEntriesByName("cutover:lb-list-rendered").length).toBe(1);
  });

  it("badges the load balancers a Kubernetes cluster owns, and a refresh saying the same redraws nothing", async () => {
    const cluster = "0a1b2c3d-0000-4000-8000-000000000001";
    owned = [{ id: "id-1", owner: { clusterId: cluster, signals: [`tagged k8s:${cluster}`], kubectl: "kubectl …" } }];
    serve(() => Array.from({ length: 5 }, (_, i) => lb(i)));
    const { container, getByTestId } = render(LoadBalancers);
    await settle();
    const badges = container.querySelectorAll<HTMLElement>("[data-testid='k8s-badge']");
    expect(badges.length).toBe(1);
    expect(badges[0].closest("tr")?.dataset.lb).toBe("lb-0001");
    expect(badges[0].textContent).toBe("Kubernetes");
    expect(badges[0].title).toBe(`Managed by Kubernetes cluster ${cluster}`);
    // The name is still the row's button (the journeys click `tr[data-lb] button.link`).
    expect(badges[0].closest("tr")?.querySelector("button.link")?.textContent).toBe("lb-0001");

    const before = rowsOf(container);
    await fireEvent.click(getByTestId("lb-refresh"));
    await settle();
    rowsOf(container).forEach((r, i) => expect(r).toBe(before[i]));
    expect(container.querySelector("[data-testid='k8s-badge']")).toBe(badges[0]);
  });
});
