import { describe, expect, it } from "vitest";
import { cleanDomain, duration, episodeSpan, expiryTimeline, severityClass, siteHistory, siteStatus } from "./watch";

const episode = (over: Record<string, unknown>) => ({
  lb_id: "lb1",
  domain: "shop.test",
  code: "cert.expiring_soon",
  backend: "web-3",
  severity: "error" as const,
  message: "m",
  appeared_at: "",
  appeared_at_unix: 100,
  cleared_at: null,
  cleared_at_unix: null,
  ...over,
});

describe("watch view logic", () => {
  it("lists a site's open findings first, then the newest", () => {
    const list = siteHistory(
      [
        episode({ code: "a", cleared_at_unix: 500 }),
        episode({ code: "b" }),
        episode({ code: "c", lb_id: "other" }),
        episode({ code: "d", cleared_at_unix: 900 }),
      ],
      "lb1",
    );
    expect(list.map((e) => e.code)).toEqual(["b", "d", "a"]);
    expect(episodeSpan(list[1], 10_000)).toBe("13 min");
    expect(episodeSpan(list[0], 100 + 3 * 86400)).toBe("3 days");
    expect(duration(30)).toBe("under a minute");
  });

  it("puts the backends' expiries on one scale and marks the one running out", () => {
    const bars = expiryTimeline([
      { label: "web-1", address: "", sha256: "x", not_after: "2027", not_after_unix: 0, days_left: 90, severity: null },
      { label: "web-3", address: "", sha256: "y", not_after: "2026", not_after_unix: 0, days_left: 3, severity: "error" },
      { label: "web-9", address: "", sha256: null, not_after: null, not_after_unix: null, days_left: null, severity: "critical" },
    ]);
    expect(bars.map((b) => [b.label, b.cls])).toEqual([
      ["web-1", "ok"],
      ["web-3", "err"],
      ["web-9", "err"],
    ]);
    expect(bars[0].percent).toBe(100);
    expect(bars[1].percent).toBeCloseTo(3.33, 1);
    expect(bars[2].percent).toBe(0);
  });

  it("says what state a site is in", () => {
    const site = { lb_id: "lb1", lb_name: "shop", domain: "shop.test", added_at: "", account: null, dns_seen_at_lb: [], last: null };
    expect(siteStatus(site)).toBe("unchecked");
    const last = { lb_id: "lb1", domain: "shop.test", checked_at: "", checked_at_unix: 0, backends: [], lb_ip: null, dns: [], summary: "" };
    const warn = { code: "dns.not_at_lb", backend: null, severity: "warning" as const, message: "", attention: false };
    expect(siteStatus({ ...site, last: { ...last, findings: [warn] } })).toBe("ok");
    expect(siteStatus({ ...site, last: { ...last, findings: [warn, { ...warn, severity: "error", attention: true }] } })).toBe("attention");
    expect(severityClass("critical")).toBe("err");
    expect(severityClass("warning")).toBe("warn");
    expect(severityClass(null)).toBe("ok");
  });

  it("tidies a typed domain", () => {
    expect(cleanDomain(" https://Shop.Example.com/path ")).toBe("shop.example.com");
    expect(cleanDomain("shop.test.")).toBe("shop.test");
  });
});
