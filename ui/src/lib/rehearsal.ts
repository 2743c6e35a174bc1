// Pure logic of the Rehearsal view: the connection log (bounded, filtered), auto-scroll, and
// throughput from two stats snapshots.

export interface LogRecord {
  id: number;
  time: string;
  client: string;
  sni: string | null;
  backend: string | null;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  outcome: string;
}

/** Outcomes that mean the connection was relayed to a backend. */
const RELAYED = new Set(["relayed", "relay_error", "idle_timeout", "drained"]);

export function isRelayed(outcome: string): boolean {
  return RELAYED.has(outcome);
}

export type OutcomeFilter = "all" | "relayed" | "refused";

export interface LogFilter {
  text: string;
  outcome: OutcomeFilter;
}

/**
 * The records matching the filter: `text` (case-insensitive) in the client, SNI, backend or
 * outcome; `outcome` relayed or refused.
 */
export function filterLog(records: LogRecord[], filter: LogFilter): LogRecord[] {
  const needle = filter.text.trim().toLowerCase();
  return records.filter((r) => {
    if (filter.outcome === "relayed" && !isRelayed(r.outcome)) return false;
    if (filter.outcome === "refused" && isRelayed(r.outcome)) return false;
    if (!needle) return true;
    return [r.client, r.sni ?? "", r.backend ?? "", r.outcome].some((s) => s.toLowerCase().includes(needle));
  });
}

/** Appends a record, keeping at most `max` (the oldest go first). */
export function appendBounded<T>(list: T[], item: T, max: number): T[] {
  const next = list.length >= max ? list.slice(list.length - max + 1) : list.slice();
  next.push(item);
  return next;
}

/**
 * Whether the log should keep following new lines: only while the user is at (or within a few
 * pixels of) the bottom. Scrolling up pauses it; scrolling back down resumes it.
 */
export function atBottom(scrollTop: number, scrollHeight: number, clientHeight: number, slack = 8): boolean {
  return scrollHeight - scrollTop - clientHeight <= slack;
}

export interface Totals {
  bytesIn: number;
  bytesOut: number;
  /** Null only if the backend sent a non-finite number. */
  uptimeMs: number | null;
}

/** Bytes per second both ways between two snapshots; 0 when time did not move forward. */
export function throughput(prev: Totals | null, cur: Totals): number {
  if (!prev) return 0;
  const dt = ((cur.uptimeMs ?? 0) - (prev.uptimeMs ?? 0)) / 1000;
  if (dt <= 0) return 0;
  const bytes = cur.bytesIn + cur.bytesOut - prev.bytesIn - prev.bytesOut;
  return Math.max(0, bytes / dt);
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Parses `HOST:PORT` of a listen address; null when it is not one. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1], port };
}
