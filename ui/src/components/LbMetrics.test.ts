// The load balancer's Droplets health and Graphs tabs behind a mocked IPC; uPlot is replaced by a
// recorder (jsdom has no canvas), so what the charts are given and that they are destroyed can
// be checked.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// @ts-expect-error: the file has no declarations of its own (they are the `svelte` module's).
vi.mock("svelte", async () => await import("../../node_modules/svelte/src/index-client.js"));

const plots = vi.hoisted(() => ({
  made: [] as { opts: { series: { label?: string }[]; axes: { label?: string }[] }; data: unknown[]; destroyed: boolean; setData: (d: unknown[]) => void }[],
}));
vi.mock("uplot", () => ({
  default: class {
    opts: (typeof plots.made)[number]["opts"];
    data: unknown[];
    destroyed = false;
    constructor(opts: (typeof plots.made)[number]["opts"], data: unknown[]) {
      this.opts = opts;
      this.data = data;
      plots.made.push(this);
    }
    setData(d: unknown[]) {
      this.data = d;
    }
    setSize() {}
    destroy() {
      this.destroyed = true;
    }
  },
}));

import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { tick } from "svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import LbHealth from "./LbHealth.svelte";
import LbGraphs from "./LbGraphs.svelte";
import LbDetail from "./LbDetail.svelte";

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  // jsdom lays nothing out: the windowed table's box gets a height so its rows render.
  Object.defineProperty(Element.prototype, "clientHeight", {
    configurable: true,
    get() {
      return (this as Element).classList.contains("vt-scroll") ? 600 : 0;
    },
  });
});
afterEach(() => {
  cleanup();
  clearMocks();
  plots.made.length = 0;
});

async function settle() {
  for (let i = 0; i < 6; i++) {
    await tick();
    await new Promise((r) => setTimeout(r, 0));
  }
}

const droplet = (name: string, state: string, over: Record<string, unknown> = {}) => ({
  dropletId: Number(name.replace(/\D/g, "")),
  name,
  ip: null,
  state,
  passRatio: 1,
  downtimeSeconds: 0,
  connections: 3,
  p95ResponseSeconds: 0.042,
  lastSample: 1_700_000_000,
  ...over,
});

const report = (over: Record<string, unknown> = {}) => ({
  lbId: "lb-1",
  lbName: "web",
  window: "24h",
  start: 1,
  end: 2,
  droplets: [
    droplet("web-1", "healthy"),
    droplet("web-2", "healthy"),
    droplet("web-3", "unhealthy", { passRatio: 0.5, downtimeSeconds: 150, connections: 0, p95ResponseSeconds: null }),
  ],
  unmapped: [],
  allHealthy: false,
  requests: 4,
  ...over,
});

type Calls = { cmd: string; args: Record<string, unknown> }[];

function serve(answers: Record<string, (args: Record<string, unknown>) => unknown>): Calls {
  const calls: Calls = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: args as Record<string, unknown> });
    // Cutover's own probe beside DigitalOcean's verdict: every droplet passes unless told.
    const answer = answers[cmd] ?? (cmd === "lb_probe_droplets" ? () => [] : undefined);
    if (!answer) throw new Error(`no mock for ${cmd}`);
    return answer(args as Record<string, unknown>);
  });
  return calls;
}

describe("Droplets health", () => {
  it("shows DigitalOcean's verdict per droplet, as a word, with the summary", async () => {
    const verdict = (n: number, outcome: string, detail: string) => ({ dropletId: n, droplet: `web-${n}`, health: { outcome, detail } });
    const calls = serve({
      lb_droplet_health: () => report(),
      lb_probe_droplets: () => [verdict(1, "pass", "tcp 443 accepted"), verdict(2, "unknown", "no address"), verdict(3, "fail", "refused")],
    });
    const { getByTestId, getAllByTestId } = render(LbHealth, { id: "lb-1" });
    await settle();
    expect(calls).toEqual([
      { cmd: "lb_droplet_health", args: { id: "lb-1", window: "24h" } },
      { cmd: "lb_probe_droplets", args: { id: "lb-1" } },
    ]);
    expect(getByTestId("lb-health-summary").textContent?.trim()).toBe(
      "2 of 3 droplets healthy at DigitalOcean (1 unhealthy)",
    );
    const rows = getAllByTestId("lb-health-row");
    expect(rows.map((r) => [r.dataset.droplet, r.dataset.state])).toEqual([
      ["web-1", "healthy"],
      ["web-2", "healthy"],
      ["web-3", "unhealthy"],
    ]);
    const cells = Array.from(rows[2].querySelectorAll("td")).map((td) => td.textContent?.trim());
    expect(cells).toEqual(["web-3", "Unhealthy", "fails", "50%", "2 min 30 s", "0", "—"]);
    // Cutover's probe beside it, with its detail on hover; unreachable from here is unknown.
    expect(rows.map((r) => r.querySelector<HTMLElement>("[data-testid='lb-health-probe']")!.dataset.outcome)).toEqual(["pass", "unknown", "fail"]);
    expect(rows[2].querySelector("[data-testid='lb-health-probe']")!.getAttribute("title")).toBe("refused");
    expect(getByTestId("lb-health-count").textContent).toBe("3 droplets");
    expect(rows[0].textContent).toContain("42 ms");
  });

  it("fetches again when the window changes", async () => {
    const calls = serve({ lb_droplet_health: (a) => report({ window: a.window }) });
    const { getByTestId } = render(LbHealth, { id: "lb-1" });
    await settle();
    const select = getByTestId("lb-health-window") as HTMLSelectElement;
    expect(Array.from(select.options).map((o) => o.value)).toEqual(["1h", "6h", "24h", "7d"]);
    select.value = "1h";
    await fireEvent.change(select);
    await settle();
    expect(calls.filter((c) => c.cmd === "lb_droplet_health").map((c) => c.args.window)).toEqual(["24h", "1h"]);
  });

  it("lists the series that could not be matched to a droplet", async () => {
    serve({
      lb_droplet_health: () =>
        report({ unmapped: [{ series: "droplets_downtime", labels: { host: "10.9.9.9" }, reason: "no droplet has that address" }] }),
    });
    const { getByTestId } = render(LbHealth, { id: "lb-1" });
    await settle();
    const box = getByTestId("lb-health-unmapped");
    expect(box.textContent).toContain("Series DigitalOcean returned that could not be matched to a droplet");
    expect(box.textContent).toContain("droplets_downtime");
    expect(box.textContent).toContain("host=10.9.9.9");
  });

  it("shows a 403 in the error box, naming the scope", async () => {
    mockIPC(() => {
      throw {
        code: "forbidden",
        message: "Reading a load balancer's metrics needs a token with the monitoring:read scope.",
        details: { scope: "monitoring:read" },
      };
    });
    const { getByTestId, queryAllByTestId } = render(LbHealth, { id: "lb-1" });
    await settle();
    const box = getByTestId("lb-health-error");
    expect(box.dataset.code).toBe("forbidden");
    expect(box.textContent).toContain("monitoring:read");
    expect(queryAllByTestId("lb-health-row")).toHaveLength(0);
  });

  it("has no p95 column for a network load balancer", async () => {
    serve({ lb_droplet_health: () => report() });
    const { getAllByTestId, container } = render(LbHealth, { id: "lb-1", networkLb: true });
    await settle();
    expect(container.querySelector("thead")!.textContent).not.toContain("p95");
    expect(getAllByTestId("lb-health-row")[0].querySelectorAll("td")).toHaveLength(6);
  });
});

const graphs = (y: (number | null)[] = [1, null, 3]) => ({
  lbId: "lb-1",
  lbName: "web",
  networkLb: false,
  window: "24h",
  start: 1,
  end: 2,
  requests: 2,
  graphs: [
    {
      series: "frontend_http_requests_per_second",
      title: "HTTP requests",
      unit: "per_second",
      perDroplet: false,
      x: [100, 160, 220],
      lines: [{ label: "requests", labels: {}, dropletId: null, y }],
      stepSeconds: 60,
      unmappedLines: 0,
    },
    {
      series: "droplets_connections",
      title: "Droplet connections",
      unit: "count",
      perDroplet: true,
      x: [100, 160, 220],
      lines: [
        { label: "web-1", labels: {}, dropletId: 1, y: [1, 2, 3] },
        { label: "host=10.9.9.9", labels: { host: "10.9.9.9" }, dropletId: null, y: [0, 0, 1] },
      ],
      stepSeconds: 60,
      unmappedLines: 1,
    },
    {
      series: "frontend_cpu_utilization",
      title: "CPU",
      unit: "percent",
      perDroplet: false,
      x: [100, 160, 220],
      lines: [{ label: "cpu", labels: {}, dropletId: null, y: [null, null, null] }],
      stepSeconds: 60,
      unmappedLines: 0,
    },
  ],
});

describe("Graphs", () => {
  it("draws one chart per graph, one line per label, gaps kept, the unit on the axis", async () => {
    const calls = serve({ lb_graphs: () => graphs() });
    const { getAllByTestId, getByTestId } = render(LbGraphs, { id: "lb-1" });
    await settle();
    expect(calls).toEqual([{ cmd: "lb_graphs", args: { id: "lb-1", window: "24h", series: [] } }]);
    const figures = getAllByTestId("lb-graph");
    expect(figures.map((f) => f.dataset.series)).toEqual([
      "frontend_http_requests_per_second",
      "droplets_connections",
      "frontend_cpu_utilization",
    ]);
    // The empty one says so instead of drawing nothing.
    expect(figures[2].dataset.empty).toBe("true");
    expect(figures[2].textContent).toContain("No samples in this window");
    expect(plots.made).toHaveLength(2);
    expect(plots.made[0].data).toEqual([
      [100, 160, 220],
      [1, null, 3],
    ]);
    expect(plots.made[0].opts.axes[1].label).toBe("per second");
    expect(plots.made[1].opts.series.slice(1).map((s) => s.label)).toEqual(["web-1", "host=10.9.9.9"]);
    expect(getByTestId("lb-graph-unmapped").textContent).toContain("1 line could not be matched to a droplet");
  });

  it("refresh sets new data into the same charts; leaving destroys them", async () => {
    let y: (number | null)[] = [1, null, 3];
    const calls = serve({ lb_graphs: () => graphs(y) });
    const { getByTestId, unmount } = render(LbGraphs, { id: "lb-1" });
    await settle();
    y = [4, 5, null];
    await fireEvent.click(getByTestId("lb-graphs-refresh"));
    await settle();
    expect(calls).toHaveLength(2);
    expect(plots.made).toHaveLength(2);
    expect(plots.made[0].data).toEqual([
      [100, 160, 220],
      [4, 5, null],
    ]);
    unmount();
    expect(plots.made.every((p) => p.destroyed)).toBe(true);
  });

  it("shows an error with the error box and draws nothing", async () => {
    mockIPC(() => {
      throw { code: "forbidden", message: "Needs a token with the monitoring:read scope.", details: null };
    });
    const { getByTestId, queryAllByTestId } = render(LbGraphs, { id: "lb-1" });
    await settle();
    expect(getByTestId("lb-graphs-error").textContent).toContain("monitoring:read");
    expect(queryAllByTestId("lb-graph")).toHaveLength(0);
  });
});

describe("the detail's tabs", () => {
  const detail = () => ({
    lb: {
      id: "lb-1",
      name: "web",
      ip: "10.0.0.1",
      status: "active",
      created_at: "2026-01-01T00:00:00Z",
      forwarding_rules: [],
      redirect_http_to_https: false,
      enable_proxy_protocol: false,
      enable_backend_keepalive: false,
      disable_lets_encrypt_dns_records: false,
      region: { slug: "ams3", name: "Amsterdam 3" },
      size_unit: 1,
      droplet_ids: [1, 2, 3],
      tag: "",
    },
    droplets: [],
    missingDropletIds: [],
    rawJson: "{}",
    kubernetes: null,
    notes: [],
  });

  it("adds Droplets health and Graphs before Raw JSON, fetching metrics only for the tab shown", async () => {
    const calls = serve({
      load_balancer_detail: () => detail(),
      lb_droplet_health: () => report(),
      lb_graphs: () => graphs(),
      lb_create_options: () => ({ droplets: [] }),
    });
    const noop = () => {};
    const { container, getByTestId, getAllByTestId } = render(LbDetail, { id: "lb-1", onclose: noop, ondeleted: noop, onchanged: noop });
    await settle();
    const tabs = Array.from(container.querySelectorAll<HTMLButtonElement>("[role='tab']")).map((b) => b.dataset.tab);
    expect(tabs).toEqual(["overview", "rules", "health", "droplets", "droplet-health", "graphs", "settings", "history", "raw"]);
    const isMetrics = (cmd: string) => cmd === "lb_droplet_health" || cmd === "lb_graphs";
    const metrics = () => calls.filter((c) => isMetrics(c.cmd)).map((c) => c.cmd);
    expect(metrics()).toEqual([]);

    await fireEvent.click(container.querySelector("[data-tab='droplet-health']")!);
    await settle();
    expect(getAllByTestId("lb-health-row")).toHaveLength(3);
    expect(metrics()).toEqual(["lb_droplet_health"]);

    // The window chosen in one tab is the other's.
    const select = getByTestId("lb-health-window") as HTMLSelectElement;
    select.value = "7d";
    await fireEvent.change(select);
    await settle();
    await fireEvent.click(container.querySelector("[data-tab='graphs']")!);
    await settle();
    expect(getAllByTestId("lb-graph")).toHaveLength(3);
    expect((getByTestId("lb-graphs-window") as HTMLSelectElement).value).toBe("7d");
    expect(calls.filter((c) => isMetrics(c.cmd)).map((c) => [c.cmd, c.args.window])).toEqual([
      ["lb_droplet_health", "24h"],
      ["lb_droplet_health", "7d"],
      ["lb_graphs", "7d"],
    ]);

    // Leaving the tab destroys its charts.
    await fireEvent.click(container.querySelector("[data-tab='overview']")!);
    await settle();
    expect(plots.made.length).toBeGreaterThan(0);
    expect(plots.made.every((p) => p.destroyed)).toBe(true);
  });
});
