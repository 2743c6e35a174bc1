import { describe, expect, it } from "vitest";
import { appendBounded, filterLogs, levelRank } from "./logs";
import type { LogEntry } from "./bindings";

const entry = (seq: number, level: string, message: string, target = "cutover"): LogEntry => ({
  seq,
  time: "2026-01-01T00:00:00Z",
  level,
  target,
  message,
});

describe("appendBounded", () => {
  it("keeps the newest entries up to the capacity", () => {
    let buf: LogEntry[] = [];
    for (let i = 0; i < 5; i++) buf = appendBounded(buf, [entry(i, "INFO", `m${i}`)], 3);
    expect(buf.map((e) => e.message)).toEqual(["m2", "m3", "m4"]);
  });

  it("ignores entries it already has (snapshot and live feed overlap)", () => {
    const buf = appendBounded([], [entry(0, "INFO", "a"), entry(1, "INFO", "b")], 10);
    const again = appendBounded(buf, [entry(1, "INFO", "b"), entry(2, "INFO", "c")], 10);
    expect(again.map((e) => e.seq)).toEqual([0, 1, 2]);
  });
});

describe("filterLogs", () => {
  const entries = [
    entry(0, "ERROR", "token rejected"),
    entry(1, "WARN", "rate limit low"),
    entry(2, "INFO", "listed 3 load balancers", "cutover_core::lb"),
    entry(3, "DEBUG", "GET /v2/load_balancers"),
  ];

  it("filters by minimum level", () => {
    expect(filterLogs(entries, "WARN", "").map((e) => e.seq)).toEqual([0, 1]);
    expect(filterLogs(entries, "TRACE", "").length).toBe(4);
  });

  it("filters by text in message or target, case-insensitively", () => {
    expect(filterLogs(entries, "TRACE", "LOAD_BAL").map((e) => e.seq)).toEqual([3]);
    expect(filterLogs(entries, "TRACE", "core::lb").map((e) => e.seq)).toEqual([2]);
  });

  it("ranks unknown levels below TRACE", () => {
    expect(levelRank("nonsense")).toBeGreaterThan(levelRank("TRACE"));
  });
});
