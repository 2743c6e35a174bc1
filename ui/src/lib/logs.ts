// Pure logic of the Logs view: bounded buffer, level filter, text filter.
import type { LogEntry } from "./bindings";

export const LEVELS = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] as const;
export type Level = (typeof LEVELS)[number];

/** Rank of a level: lower is more severe. Unknown levels sort as least severe. */
export function levelRank(level: string): number {
  const i = LEVELS.indexOf(level.toUpperCase() as Level);
  return i === -1 ? LEVELS.length : i;
}

/** Appends entries, dropping the oldest beyond `capacity`, ignoring ones already present (by seq). */
export function appendBounded(buffer: LogEntry[], entries: LogEntry[], capacity: number): LogEntry[] {
  const lastSeq = buffer.length ? buffer[buffer.length - 1].seq : -1;
  const fresh = entries.filter((e) => e.seq > lastSeq);
  if (fresh.length === 0) return buffer;
  const next = buffer.concat(fresh);
  return next.length > capacity ? next.slice(next.length - capacity) : next;
}

/** Entries at `minLevel` or more severe whose message or target contains `text` (case-insensitive). */
export function filterLogs(entries: LogEntry[], minLevel: Level, text: string): LogEntry[] {
  const max = levelRank(minLevel);
  const needle = text.trim().toLowerCase();
  return entries.filter(
    (e) =>
      levelRank(e.level) <= max &&
      (needle === "" ||
        e.message.toLowerCase().includes(needle) ||
        e.target.toLowerCase().includes(needle)),
  );
}
