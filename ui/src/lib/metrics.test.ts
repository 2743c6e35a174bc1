import { describe, expect, it } from "vitest";
import type { Graph_Serialize as Graph } from "./bindings";
import {
  describeLabels,
  describeUnmapped,
  formatDuration,
  formatRatio,
  formatSeconds,
  formatTick,
  formatValue,
  graphIsEmpty,
  healthSummary,
  lastValue,
  stateWord,
  toChartData,
  unitLabel,
  WINDOWS,
} from "./metrics";

const graph = (over: Partial<Graph> = {}): Graph => ({
  series: "droplets_connections",
  title: "Droplet connections",
  unit: "count",
  perDroplet: true,
  x: [100, 160, 220],
  lines: [
    { label: "web-1", labels: { droplet_id: "1" }, dropletId: 1, y: [1, null, 3] },
    { label: "web-2", labels: { droplet_id: "2" }, dropletId: 2, y: [4, 5, 6] },
  ],
  stepSeconds: 60,
  unmappedLines: 0,
  ...over,
});

describe("formatValue", () => {
  it("formats bytes per second in decimal units", () => {
    expect(formatValue(0, "bytes_per_second")).toBe("0 B/s");
    expect(formatValue(512, "bytes_per_second")).toBe("512 B/s");
    expect(formatValue(1500, "bytes_per_second")).toBe("1.5 kB/s");
    expect(formatValue(2_340_000, "bytes_per_second")).toBe("2.34 MB/s");
    expect(formatValue(12_500_000_000, "bytes_per_second")).toBe("12.5 GB/s");
    expect(formatValue(1_000_000, "bytes")).toBe("1 MB");
  });

  it("formats rates per second", () => {
    expect(formatValue(12.345, "per_second")).toBe("12.3/s");
    expect(formatValue(0.25, "per_second")).toBe("0.25/s");
    expect(formatValue(1234, "per_second")).toBe("1,234/s");
  });

  it("formats seconds as milliseconds below a second", () => {
    expect(formatValue(0.12, "seconds")).toBe("120 ms");
    expect(formatValue(0.0005, "seconds")).toBe("0.5 ms");
    expect(formatValue(0.0123, "seconds")).toBe("12.3 ms");
    expect(formatValue(1.25, "seconds")).toBe("1.25 s");
    expect(formatValue(0, "seconds")).toBe("0 ms");
    expect(formatSeconds(90)).toBe("1 min 30 s");
  });

  it("formats percent, counts and yes/no statuses", () => {
    expect(formatValue(42.345, "percent")).toBe("42.3%");
    expect(formatValue(100, "percent")).toBe("100%");
    expect(formatValue(3, "count")).toBe("3");
    expect(formatValue(2.5, "count")).toBe("2.5");
    expect(formatValue(12345, "count")).toBe("12,345");
    expect(formatValue(1, "status")).toBe("yes");
    expect(formatValue(0, "status")).toBe("no");
    expect(formatValue(0.75, "status")).toBe("75%");
  });

  it("shows a gap as a dash, whatever the unit", () => {
    for (const unit of ["count", "seconds", "percent", "bytes_per_second", "status"] as const) {
      expect(formatValue(null, unit)).toBe("—");
      expect(formatValue(Number.NaN, unit)).toBe("—");
      expect(formatValue(Number.POSITIVE_INFINITY, unit)).toBe("—");
    }
  });
});

describe("axis", () => {
  it("names the unit on the axis and keeps ticks short", () => {
    expect(unitLabel("seconds")).toBe("milliseconds");
    expect(unitLabel("bytes_per_second")).toBe("bytes per second");
    expect(unitLabel("per_second")).toBe("per second");
    expect(formatTick(0.25, "seconds")).toBe("250");
    expect(formatTick(2_000_000, "bytes_per_second")).toBe("2 MB");
    expect(formatTick(512, "bytes")).toBe("512 B");
    expect(formatTick(Number.NaN, "count")).toBe("");
  });
});

describe("durations and ratios", () => {
  it("formats downtime", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(150)).toBe("2 min 30 s");
    expect(formatDuration(3600 + 300 + 7)).toBe("1 h 5 min");
    expect(formatDuration(2 * 86400 + 4 * 3600 + 60)).toBe("2 d 4 h");
    expect(formatDuration(null)).toBe("—");
  });

  it("formats the health-check pass ratio, never rounding a failure up to 100%", () => {
    expect(formatRatio(1)).toBe("100%");
    expect(formatRatio(0)).toBe("0%");
    expect(formatRatio(0.995)).toBe("99.5%");
    expect(formatRatio(0.99996)).toBe("99.9%");
    expect(formatRatio(null)).toBe("—");
  });
});

describe("health", () => {
  const d = (state: "healthy" | "unhealthy" | "unknown") => ({ state });

  it("sums up DigitalOcean's verdicts in one sentence", () => {
    expect(healthSummary([d("healthy"), d("healthy"), d("unhealthy")])).toBe(
      "2 of 3 droplets healthy at DigitalOcean (1 unhealthy)",
    );
    expect(healthSummary([d("healthy"), d("healthy"), d("healthy")])).toBe("3 of 3 droplets healthy at DigitalOcean");
    expect(healthSummary([d("healthy")])).toBe("1 of 1 droplet healthy at DigitalOcean");
    expect(healthSummary([d("unhealthy"), d("unhealthy")])).toBe("0 of 2 droplets healthy at DigitalOcean");
    expect(healthSummary([d("healthy"), d("unknown"), d("unhealthy")])).toBe(
      "1 of 3 droplets healthy at DigitalOcean (1 unhealthy, 1 unknown)",
    );
    expect(healthSummary([])).toMatch(/No droplets/);
  });

  it("has a word for every state", () => {
    expect(stateWord("healthy")).toBe("Healthy");
    expect(stateWord("unhealthy")).toBe("Unhealthy");
    expect(stateWord("unknown")).toBe("Unknown");
  });

  it("describes unmapped series by their labels", () => {
    expect(describeLabels({ b: "2", a: "1" })).toBe("a=1, b=2");
    expect(describeLabels({})).toBe("no labels");
    expect(describeUnmapped({ series: "droplets_downtime", labels: { host: "10.0.0.9" }, reason: "no droplet has that IP" })).toBe(
      "droplets_downtime {host=10.0.0.9}: no droplet has that IP",
    );
  });
});

describe("toChartData", () => {
  it("gives uPlot the shared x then one column per line, keeping gaps", () => {
    expect(toChartData(graph())).toEqual([
      [100, 160, 220],
      [1, null, 3],
      [4, 5, 6],
    ]);
  });

  it("drops points without a time from every column", () => {
    const data = toChartData(graph({ x: [100, null, 220] }));
    expect(data).toEqual([
      [100, 220],
      [1, 3],
      [4, 6],
    ]);
  });

  it("turns NaN and infinities into gaps and pads short lines", () => {
    const data = toChartData(
      graph({
        lines: [{ label: "a", labels: {}, dropletId: null, y: [Number.NaN, Number.POSITIVE_INFINITY] }],
      }),
    );
    expect(data).toEqual([
      [100, 160, 220],
      [null, null, null],
    ]);
  });

  it("handles a graph with no lines and no points", () => {
    expect(toChartData(graph({ lines: [] }))).toEqual([[100, 160, 220]]);
    expect(toChartData(graph({ x: [], lines: [] }))).toEqual([[]]);
  });

  it("tells an empty graph and finds the latest value", () => {
    expect(graphIsEmpty(graph())).toBe(false);
    expect(graphIsEmpty(graph({ lines: [{ label: "a", labels: {}, dropletId: null, y: [null, null] }] }))).toBe(true);
    expect(graphIsEmpty(graph({ lines: [] }))).toBe(true);
    expect(lastValue([1, 2, null])).toBe(2);
    expect(lastValue([null])).toBeNull();
  });
});

describe("windows", () => {
  it("offers the four windows DigitalOcean has, shortest first", () => {
    expect(WINDOWS.map((w) => w.value)).toEqual(["1h", "6h", "24h", "7d"]);
  });
});
