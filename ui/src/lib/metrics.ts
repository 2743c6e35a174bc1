// What the load balancer's Droplets health and Graphs tabs show, kept out of the components so it
// can be tested: values formatted by their unit, a `Graph` turned into uPlot's columns (gaps kept
// as gaps), and the sentences about health.
import type { DropletHealth, Graph, HealthState, MetricUnit, MetricsWindow, UnmappedSeries } from "./bindings";

/** The windows DigitalOcean's panel offers, in order, with what the selector says. */
export const WINDOWS: readonly { value: MetricsWindow; label: string }[] = [
  { value: "1h", label: "1 hour" },
  { value: "6h", label: "6 hours" },
  { value: "24h", label: "24 hours" },
  { value: "7d", label: "7 days" },
];

/** How often the Graphs tab refreshes while it is shown (the panel's cadence; well under the rate limit). */
export const GRAPHS_REFRESH_MS = 2 * 60 * 1000;

/** A number with at most `digits` significant decimals, trailing zeros dropped ("1.5", "12", "0.25"). */
function trim(value: number, digits: number): string {
  const abs = Math.abs(value);
  // Three significant figures: 1.23, 12.3, 123, 1,234.
  const decimals = abs === 0 || abs >= 100 ? 0 : abs >= 10 ? Math.min(1, digits) : digits;
  return value.toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

const SI = ["", "k", "M", "G", "T", "P"];

/** 1500 → "1.5 k" style scaling by 1000 (network throughput is counted in decimal units). */
function scaled(value: number, suffix: string): string {
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${trim(v, 2)} ${SI[i]}${suffix}`;
}

/** Seconds as a latency: milliseconds below 1 s ("120 ms", "0.5 ms"), else seconds ("1.25 s"). */
export function formatSeconds(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs === 0) return "0 ms";
  if (abs < 1) return `${trim(seconds * 1000, 2)} ms`;
  if (abs < 60) return `${trim(seconds, 2)} s`;
  return formatDuration(seconds);
}

/** A value as its unit reads; "—" for a gap (null, NaN, ±Inf). */
export function formatValue(value: number | null | undefined, unit: MetricUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  switch (unit) {
    case "bytes_per_second":
      return scaled(value, "B/s");
    case "bytes":
      return scaled(value, "B");
    case "per_second":
      return `${trim(value, 2)}/s`;
    case "seconds":
      return formatSeconds(value);
    case "percent":
      return `${trim(value, 1)}%`;
    case "status":
      // 1 = yes, 0 = no; a downsampled point is the share of the bucket.
      return value === 1 ? "yes" : value === 0 ? "no" : `${trim(value * 100, 1)}%`;
    case "count":
      return trim(value, 1);
  }
}

/** What a graph's value axis says under its numbers. */
export function unitLabel(unit: MetricUnit): string {
  switch (unit) {
    case "bytes_per_second":
      return "bytes per second";
    case "bytes":
      return "bytes";
    case "per_second":
      return "per second";
    case "seconds":
      return "milliseconds";
    case "percent":
      return "percent";
    case "status":
      return "1 = yes, 0 = no";
    case "count":
      return "count";
  }
}

/** An axis tick: shorter than `formatValue` (the axis label carries the unit). */
export function formatTick(value: number, unit: MetricUnit): string {
  if (!Number.isFinite(value)) return "";
  switch (unit) {
    case "seconds":
      return trim(value * 1000, 1);
    case "bytes_per_second":
    case "bytes":
      return scaled(value, "B");
    case "status":
      return trim(value, 2);
    default:
      return trim(value, 1);
  }
}

/** Seconds as a duration: "0 s", "45 s", "2 min 30 s", "3 h 5 min", "2 d 4 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  let s = Math.round(Math.max(0, seconds));
  if (s < 60) return `${s} s`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m && !d) parts.push(`${m} min`);
  if (s && !d && !h) parts.push(`${s} s`);
  return parts.slice(0, 2).join(" ");
}

/** A 0–1 share as a percentage ("100%", "99.5%", "0%"); "—" without one. */
export function formatRatio(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "—";
  const pct = Math.min(100, Math.max(0, ratio * 100));
  // Never round 99.96 up to "100%": a failing check must stay visible.
  const shown = pct < 100 && pct > 99.9 ? 99.9 : pct;
  return `${trim(shown, 1)}%`;
}

/** The word next to the coloured dot (the colour is never the only signal). */
export function stateWord(state: HealthState): string {
  return state === "healthy" ? "Healthy" : state === "unhealthy" ? "Unhealthy" : "Unknown";
}

/** "2 of 3 droplets healthy at DigitalOcean", with the unhealthy and unknown ones counted when there are any. */
export function healthSummary(droplets: readonly Pick<DropletHealth, "state">[]): string {
  const total = droplets.length;
  if (total === 0) return "No droplets behind this load balancer: nothing serves its traffic.";
  const count = (s: HealthState) => droplets.filter((d) => d.state === s).length;
  const healthy = count("healthy");
  const unhealthy = count("unhealthy");
  const unknown = count("unknown");
  let text = `${healthy} of ${total} droplet${total === 1 ? "" : "s"} healthy at DigitalOcean`;
  const rest: string[] = [];
  if (unhealthy && (healthy || unknown)) rest.push(`${unhealthy} unhealthy`);
  if (unknown) rest.push(`${unknown} unknown`);
  if (rest.length) text += ` (${rest.join(", ")})`;
  return text;
}

/** An unmapped series' labels as "key=value, key=value" (sorted; "no labels" when it had none). */
export function describeLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "no labels";
  return keys.map((k) => `${k}=${labels[k]}`).join(", ");
}

/** One line of the unmapped list: the series, its labels, and why it matched no droplet. */
export function describeUnmapped(u: UnmappedSeries): string {
  return `${u.series} {${describeLabels(u.labels)}}${u.reason ? `: ${u.reason}` : ""}`;
}

/** uPlot's data: the shared x, then one y column per line. */
export type ChartData = [number[], ...(number | null)[][]];

/**
 * A `Graph` as uPlot's columns. Points with no time (a null x) are dropped from every column at
 * once; a null y stays null (uPlot draws it as a gap); NaN and ±Inf become gaps too; columns are
 * cut or padded (with gaps) to the length of x.
 */
export function toChartData(graph: Pick<Graph, "x" | "lines">): ChartData {
  const keep: number[] = [];
  graph.x.forEach((t, i) => {
    if (t !== null && Number.isFinite(t)) keep.push(i);
  });
  const x = keep.map((i) => graph.x[i] as number);
  const ys = graph.lines.map((line) =>
    keep.map((i) => {
      const v = line.y[i];
      return v === null || v === undefined || !Number.isFinite(v) ? null : v;
    }),
  );
  return [x, ...ys];
}

/** True when no line of the graph has a single value (the chart would be empty). */
export function graphIsEmpty(graph: Pick<Graph, "lines">): boolean {
  return !graph.lines.some((l) => l.y.some((v) => v !== null && Number.isFinite(v)));
}

/** The latest value of a line (the legend shows it when the pointer is off the chart). */
export function lastValue(y: readonly (number | null)[]): number | null {
  for (let i = y.length - 1; i >= 0; i--) {
    const v = y[i];
    if (v !== null && Number.isFinite(v)) return v;
  }
  return null;
}

/** Line colours that read on both the light and the dark background (Okabe–Ito, colour-blind safe). */
export const LINE_COLORS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#b8a300", "#7f7f7f"];

export function lineColor(i: number): string {
  return LINE_COLORS[i % LINE_COLORS.length];
}
