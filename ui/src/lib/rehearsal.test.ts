import { describe, expect, it } from "vitest";
import { appendBounded, atBottom, filterLog, formatBytes, http3Offer, parseListen, throughput, type LogRecord } from "./rehearsal";

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

import {
  commonPort,
  configFromForm,
  domainError,
  emptyConfig,
  formFromConfig,
  joinAddr,
  newBackendRow,
  splitAddr,
  withTargetPort,
} from "./rehearsal";
import type { BalancerConfig_Serialize } from "./bindings";

const built = (): BalancerConfig_Serialize => ({
  ...emptyConfig(),
  listen: "127.0.0.1:8443",
  domains: ["sandbox-shop.test"],
  backends: [
    { name: "web-1", addr: "127.0.0.11:443", display: "web-1 (203.0.113.11:443)", healthCheckAddr: "127.0.0.11:80" },
    { name: "web-2", addr: "[::1]:443" },
  ],
  healthCheck: { protocol: "tcp", port: 443, path: "/", intervalMs: 10_000, timeoutMs: 5_000, healthyThreshold: 5, unhealthyThreshold: 3 },
  proxyProtocol: "v1",
  redirectHttpListen: "127.0.0.1:0",
  maxConnections: 77,
});

describe("rehearsal form ↔ config", () => {
  it("round-trips a built config unchanged", () => {
    const config = built();
    const form = formFromConfig(config);
    expect(form.listenHost).toBe("127.0.0.1");
    expect(form.listenPort).toBe("8443");
    expect(form.backends[1]).toMatchObject({ name: "web-2", host: "::1", port: "443" });
    expect(form.proxy).toBe("v1");
    expect(form.health).toEqual({ enabled: true, protocol: "tcp", interval: "10", path: "/", port: "443" });
    const back = configFromForm(form, config);
    expect(back).toEqual({ ok: true, config });
  });

  it("applies the edits and keeps what the form does not show", () => {
    const config = built();
    const form = formFromConfig(config);
    form.listenPort = "0";
    form.domains = ["sandbox-shop.test", " *.sandbox-shop.test ", ""];
    form.backends = withTargetPort(form.backends, "8443");
    form.backends.push({ ...newBackendRow(form.backends), host: "10.0.0.5" });
    form.proxy = "off";
    form.health = { enabled: true, protocol: "http", interval: "2.5", path: "/healthz", port: "" };
    const r = configFromForm(form, config);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listen).toBe("127.0.0.1:0");
    expect(r.config.domains).toEqual(["sandbox-shop.test", "*.sandbox-shop.test"]);
    // A changed address drops the display name and the health-check address made for the old one.
    expect(r.config.backends).toEqual([
      { name: "web-1", addr: "127.0.0.11:8443" },
      { name: "web-2", addr: "[::1]:8443" },
      { name: "backend-3", addr: "10.0.0.5:8443" },
    ]);
    expect(r.config.proxyProtocol).toBeNull();
    expect(r.config.healthCheck).toEqual({
      protocol: "http",
      port: null,
      path: "/healthz",
      intervalMs: 2500,
      timeoutMs: 2500,
      healthyThreshold: 5,
      unhealthyThreshold: 3,
    });
    expect(r.config.maxConnections).toBe(77);
    expect(r.config.redirectHttpListen).toBe("127.0.0.1:0");
    form.health.enabled = false;
    const off = configFromForm(form, config);
    expect(off.ok && off.config.healthCheck).toBeNull();
  });

  it("points at each wrong field", () => {
    const form = formFromConfig(built());
    form.listenHost = "localhost";
    form.domains = ["shop test", ""];
    form.backends[0].name = "web-2";
    form.backends[1].host = "db.internal";
    form.health.interval = "0";
    form.health.protocol = "http";
    form.health.path = "healthz";
    const r = configFromForm(form, built());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.listen).toContain("IP address");
    expect(r.errors.domainRows?.[0]).toContain("not a domain name");
    expect(r.errors.domainRows?.[1]).toBeNull();
    expect(r.errors.backendRows?.[0]).toBeNull();
    expect(r.errors.backendRows?.[1]).toEqual({ name: "The name web-2 is used twice.", addr: "Use an IP address (names are not resolved)." });
    expect(r.errors.interval).toContain("1 to 300");
    expect(r.errors.path).toContain("starts with /");
  });

  it("needs a domain, a backend and ports in range", () => {
    const form = formFromConfig(emptyConfig());
    expect(form.domains).toEqual([""]);
    form.listenPort = "70000";
    const r = configFromForm(form, emptyConfig());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.domains).toContain("at least one domain");
    expect(r.errors.domainRows?.[0]).toContain("Give a domain");
    expect(r.errors.backends).toContain("at least one backend");
    expect(r.errors.listen).toContain("0 to 65535");
    form.backends = [{ name: "a", host: "10.0.0.1", port: "0" }];
    const r2 = configFromForm(form, emptyConfig());
    expect(!r2.ok && r2.errors.backendRows?.[0]?.addr).toContain("1 to 65535");
  });

  it("splits and joins addresses, finds the common port, checks domains", () => {
    expect(splitAddr("[2001:db8::1]:443")).toEqual({ host: "2001:db8::1", port: "443" });
    expect(joinAddr("2001:db8::1", 443)).toBe("[2001:db8::1]:443");
    expect(commonPort([{ name: "a", host: "", port: "443" }, { name: "b", host: "", port: "443" }])).toBe("443");
    expect(commonPort([{ name: "a", host: "", port: "443" }, { name: "b", host: "", port: "8443" }])).toBeNull();
    expect(domainError("*.shop.test")).toBeNull();
    expect(domainError("*.*.shop.test")).not.toBeNull();
  });
});

describe("http3Offer", () => {
  it("finds h3 and its drafts in Alt-Svc, whatever the header's case", () => {
    expect(http3Offer([["alt-svc", 'h3=":443"; ma=86400']])).toBe('h3=":443"; ma=86400');
    expect(http3Offer([["Alt-Svc", 'h2=":8443", h3-29=":443"']])).toBe('h2=":8443", h3-29=":443"');
    expect(http3Offer([["content-type", "text/html"], ["ALT-SVC", ' h3=":443"']])).toBe(' h3=":443"');
  });

  it("ignores other alternatives, clear, and look-alike names", () => {
    expect(http3Offer([])).toBeNull();
    expect(http3Offer([["alt-svc", "clear"]])).toBeNull();
    expect(http3Offer([["alt-svc", 'h2=":443"']])).toBeNull();
    expect(http3Offer([["alt-svc", 'h3x=":443"']])).toBeNull();
    expect(http3Offer([["x-alt-svc", 'h3=":443"']])).toBeNull();
  });
});
