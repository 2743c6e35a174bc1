import { describe, expect, it } from "vitest";
import { addSnapshot, emptyHistory, historyGraphs, peak } from "./rehearsalgraphs";

const snap = (uptimeMs: number, total: number, bytes: number, latency: Record<string, number | null>, open = 0) => ({
  uptimeMs,
  activeConnections: open,
  totalConnections: total,
  bytesIn: bytes,
  bytesOut: 0,
  backends: Object.entries(latency).map(([name, latencyLastMs]) => ({ name, latencyLastMs })),
});

describe("rehearsal graphs", () => {
  it("turns snapshots into connections, throughput and latency lines", () => {
    let h = emptyHistory();
    h = addSnapshot(h, snap(1000, 0, 0, { "web-1": 2 }), 100);
    h = addSnapshot(h, snap(2000, 3, 4096, { "web-1": 4, "web-2": null }, 1), 101);
    h = addSnapshot(h, snap(4000, 3, 8192, { "web-1": null, "web-2": 8 }), 102);
    const [conns, thr, lat] = historyGraphs(h);
    expect(conns.x).toEqual([100, 101, 102]);
    expect(conns.lines.map((l) => l.label)).toEqual(["open", "new"]);
    expect(conns.lines[0].y).toEqual([0, 1, 0]);
    expect(conns.lines[1].y).toEqual([0, 3, 0]);
    // 4096 bytes in one second, then 4096 in two.
    expect(thr.lines[0].y).toEqual([0, 4096, 2048]);
    expect(thr.unit).toBe("bytes_per_second");
    // Seconds; a backend seen late has gaps before it; a missing measurement is a gap.
    expect(Object.fromEntries(lat.lines.map((l) => [l.label, l.y]))).toEqual({
      "web-1": [0.002, 0.004, null],
      "web-2": [null, null, 0.008],
    });
    expect(peak(conns)).toBe(3);
    expect(peak(lat)).toBe(0.008);
    expect(peak({ lines: [] })).toBe(0);
  });

  it("keeps a bounded history and never counts a counter that went back", () => {
    let h = emptyHistory();
    for (let i = 0; i < 10; i++) h = addSnapshot(h, snap(i * 1000, i, i * 10, { a: 1 }), i, 4);
    expect(h.x).toEqual([6, 7, 8, 9]);
    expect(h.latency.get("a")).toHaveLength(4);
    h = addSnapshot(h, snap(500, 0, 0, { a: 1 }), 10, 4);
    expect(h.fresh.at(-1)).toBe(0);
    expect(h.throughput.at(-1)).toBe(0);
  });
});
