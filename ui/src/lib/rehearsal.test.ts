import { describe, expect, it } from "vitest";
import { appendBounded, atBottom, filterLog, formatBytes, parseListen, throughput, type LogRecord } from "./rehearsal";

const rec = (id: number, over: Partial<LogRecord> = {}): LogRecord => ({
  id,
  time: "2026-11-26T10:00:00Z",
  client: "127.0.0.1:5000" + id,
  sni: "shop.test",
  backend: "web-1",
  durationMs: 3,
  bytesIn: 100,
  bytesOut: 200,
  outcome: "relayed",
  ...over,
});

describe("filterLog", () => {
  const log = [
    rec(1),
    rec(2, { backend: "web-3" }),
    rec(3, { sni: "evil.test", backend: null, outcome: "unknown_sni" }),
    rec(4, { outcome: "idle_timeout", backend: "web-2" }),
  ];
  it("filters by text in client, SNI, backend or outcome, case-insensitively", () => {
    expect(filterLog(log, { text: "WEB-3", outcome: "all" }).map((r) => r.id)).toEqual([2]);
    expect(filterLog(log, { text: "evil", outcome: "all" }).map((r) => r.id)).toEqual([3]);
    expect(filterLog(log, { text: "unknown_sni", outcome: "all" }).map((r) => r.id)).toEqual([3]);
    expect(filterLog(log, { text: "  ", outcome: "all" })).toHaveLength(4);
  });
  it("filters by outcome", () => {
    expect(filterLog(log, { text: "", outcome: "refused" }).map((r) => r.id)).toEqual([3]);
    expect(filterLog(log, { text: "", outcome: "relayed" }).map((r) => r.id)).toEqual([1, 2, 4]);
  });
});

describe("log helpers", () => {
  it("keeps the newest records", () => {
    let list: number[] = [];
    for (let i = 1; i <= 5; i++) list = appendBounded(list, i, 3);
    expect(list).toEqual([3, 4, 5]);
  });
  it("follows only at the bottom", () => {
    expect(atBottom(600, 1000, 400)).toBe(true);
    expect(atBottom(595, 1000, 400)).toBe(true);
    expect(atBottom(300, 1000, 400)).toBe(false);
  });
  it("computes throughput between snapshots", () => {
    expect(throughput(null, { bytesIn: 10, bytesOut: 10, uptimeMs: 1000 })).toBe(0);
    expect(throughput({ bytesIn: 0, bytesOut: 0, uptimeMs: 1000 }, { bytesIn: 1000, bytesOut: 1000, uptimeMs: 3000 })).toBe(1000);
    expect(throughput({ bytesIn: 5, bytesOut: 5, uptimeMs: 1000 }, { bytesIn: 5, bytesOut: 5, uptimeMs: 1000 })).toBe(0);
  });
  it("formats bytes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MiB");
  });
  it("parses listen addresses", () => {
    expect(parseListen("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseListen("[::1]:8443")).toEqual({ host: "[::1]", port: 8443 });
    expect(parseListen("127.0.0.1")).toBeNull();
    expect(parseListen("127.0.0.1:70000")).toBeNull();
  });
});
