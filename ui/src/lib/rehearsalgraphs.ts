// The rehearsal's live graphs: the balancer's stats (one snapshot a second) kept as a bounded
// history and turned into the same `Graph` shape the load balancer's Graphs tab draws —
// connections (open, new since the previous snapshot), throughput, and each backend's latency.
import type { Graph, StatsSnapshot } from "./bindings";

/** Ten minutes at one snapshot a second: what a rehearsal looks back on, and a bounded cost. */
export const HISTORY_POINTS = 600;

type Snapshot = Pick<StatsSnapshot, "uptimeMs" | "activeConnections" | "totalConnections" | "bytesIn" | "bytesOut"> & {
  backends: readonly { name: string; latencyLastMs?: number | null }[];
};

export interface StatsHistory {
  /** Unix seconds of each point. */
  x: number[];
  open: number[];
  /** Connections accepted since the previous point. */
  fresh: number[];
  /** Bytes per second, in and out together, since the previous point. */
  throughput: number[];
  /** Backend name → latency in seconds at each point (null: no measurement). */
  latency: Map<string, (number | null)[]>;
  last: Snapshot | null;
}

export function emptyHistory(): StatsHistory {
  return { x: [], open: [], fresh: [], throughput: [], latency: new Map(), last: null };
}

/** The history with `snap` (taken at `nowSeconds`) added; a new object, the oldest point dropped past `cap`. */
export function addSnapshot(h: StatsHistory, snap: Snapshot, nowSeconds: number, cap = HISTORY_POINTS): StatsHistory {
  const prev = h.last;
  const dt = prev ? ((snap.uptimeMs ?? 0) - (prev.uptimeMs ?? 0)) / 1000 : 0;
  const bytes = prev ? snap.bytesIn + snap.bytesOut - prev.bytesIn - prev.bytesOut : 0;
  // A counter that went back is a new run: nothing is "new" across it.
  const fresh = prev ? Math.max(0, snap.totalConnections - prev.totalConnections) : 0;
  const drop = Math.max(0, h.x.length + 1 - cap);
  const keep = <T>(arr: readonly T[], v: T) => [...arr.slice(drop), v];
  const latency = new Map<string, (number | null)[]>();
  const names = new Set([...h.latency.keys(), ...snap.backends.map((b) => b.name)]);
  for (const name of names) {
    // A backend that appears late gets gaps before it.
    const old = h.latency.get(name) ?? new Array<number | null>(h.x.length).fill(null);
    const ms = snap.backends.find((b) => b.name === name)?.latencyLastMs;
    latency.set(name, keep(old, ms === null || ms === undefined ? null : ms / 1000));
  }
  return {
    x: keep(h.x, nowSeconds),
    open: keep(h.open, snap.activeConnections),
    fresh: keep(h.fresh, fresh),
    throughput: keep(h.throughput, dt > 0 ? Math.max(0, bytes / dt) : 0),
    latency,
    last: snap,
  };
}

function graph(series: string, title: string, unit: Graph["unit"], x: number[], lines: [string, (number | null)[]][]): Graph {
  return {
    series,
    title,
    unit,
    perDroplet: false,
    x,
    lines: lines.map(([label, y]) => ({ label, labels: {}, dropletId: null, y })),
    stepSeconds: 1,
    unmappedLines: 0,
  };
}

/** The three graphs of the run so far. */
export function historyGraphs(h: StatsHistory): Graph[] {
  return [
    graph("rehearsal_connections", "Connections", "count", h.x, [
      ["open", h.open],
      ["new", h.fresh],
    ]),
    graph("rehearsal_throughput", "Throughput (in + out)", "bytes_per_second", h.x, [["bytes", h.throughput]]),
    graph("rehearsal_backend_latency", "Backend latency (last connect or check)", "seconds", h.x, [...h.latency.entries()]),
  ];
}

/** The largest value of a graph's lines (0 with none): what a test watches move. */
export function peak(g: Pick<Graph, "lines">): number {
  let max = 0;
  for (const line of g.lines) for (const v of line.y) if (v !== null && Number.isFinite(v) && v > max) max = v;
  return max;
}
