import { describe, expect, it } from "vitest";
import { badgeFlags, badges, describeRule, nextPollDelay, searchLbs, sortLbs, tabAfterKey, type LbLike } from "./lb";

const lb = (over: Partial<LbLike>): LbLike => ({
  id: "id-" + (over.name ?? "x"),
  name: "x",
  status: "active",
  ip: "",
  region: { slug: "nyc3", name: "New York 3" },
  droplet_count: 0,
  passthrough: false,
  tag: "",
  redirect_http_to_https: false,
  enable_proxy_protocol: false,
  ...over,
});

const passthrough = {
  entry_protocol: "https",
  entry_port: 443,
  target_protocol: "https",
  target_port: 443,
  tls_passthrough: true,
};

describe("badges", () => {
  it("flags passthrough, redirect and PROXY protocol", () => {
    const labels = badges(
      lb({ passthrough: true, redirect_http_to_https: true, enable_proxy_protocol: true }),
    ).map((b) => b.label);
    expect(labels).toEqual(["SSL passthrough", "HTTP→HTTPS", "PROXY"]);
    expect(badges(lb({}))).toEqual([]);
  });

  it("reads a whole load balancer's rules as its row does", () => {
    const plain = { ...passthrough, tls_passthrough: false };
    const whole = (rules: (typeof passthrough)[]) =>
      badgeFlags({ forwarding_rules: rules, redirect_http_to_https: true, enable_proxy_protocol: false });
    expect(whole([plain, passthrough])).toEqual({ passthrough: true, redirect_http_to_https: true, enable_proxy_protocol: false });
    expect(whole([plain]).passthrough).toBe(false);
    expect(whole([]).passthrough).toBe(false);
  });
});

describe("describeRule", () => {
  it("reads like the control panel", () => {
    expect(describeRule(passthrough)).toBe("HTTPS 443 → HTTPS 443 (passthrough)");
  });
});

describe("searchLbs and sortLbs", () => {
  const lbs = [
    lb({ name: "shop", ip: "10.0.0.20", tag: "web", droplet_count: 3 }),
    lb({ name: "blog", ip: "10.0.0.3", region: { slug: "ams3", name: "Amsterdam 3" } }),
    lb({ name: "api", ip: "", status: "new", droplet_count: 1 }),
  ];

  it("searches name, ip, region and tag", () => {
    expect(searchLbs(lbs, "AMS").map((l) => l.name)).toEqual(["blog"]);
    expect(searchLbs(lbs, "web").map((l) => l.name)).toEqual(["shop"]);
    expect(searchLbs(lbs, " ").length).toBe(3);
  });

  it("sorts IPs numerically with empty ones last", () => {
    expect(sortLbs(lbs, "ip", true).map((l) => l.name)).toEqual(["blog", "shop", "api"]);
  });

  it("sorts by droplet count descending", () => {
    expect(sortLbs(lbs, "droplets", false).map((l) => l.name)).toEqual(["shop", "api", "blog"]);
  });
});

describe("nextPollDelay", () => {
  const base = { hidden: false, idleMs: 0, anyPending: false, rateRemaining: 5000, rateLimit: 5000 };
  it("pauses while hidden", () => expect(nextPollDelay({ ...base, hidden: true })).toBeNull());
  it("slows down when idle", () => {
    expect(nextPollDelay(base)).toBe(15_000);
    expect(nextPollDelay({ ...base, idleMs: 10 * 60_000 })).toBe(60_000);
  });
  it("speeds up while a load balancer is being created", () =>
    expect(nextPollDelay({ ...base, anyPending: true })).toBe(5_000));
  it("respects a nearly spent rate limit", () => {
    expect(nextPollDelay({ ...base, anyPending: true, rateRemaining: 100 })).toBe(60_000);
    expect(nextPollDelay({ ...base, rateRemaining: 0 })).toBe(60_000);
  });
});

describe("tabAfterKey", () => {
  const tabs = ["overview", "rules", "health"] as const;
  it("moves with the arrows and wraps at both ends", () => {
    expect(tabAfterKey(tabs, "overview", "ArrowRight")).toBe("rules");
    expect(tabAfterKey(tabs, "health", "ArrowRight")).toBe("overview");
    expect(tabAfterKey(tabs, "overview", "ArrowLeft")).toBe("health");
    expect(tabAfterKey(tabs, "rules", "ArrowLeft")).toBe("overview");
  });
  it("jumps with Home and End", () => {
    expect(tabAfterKey(tabs, "rules", "Home")).toBe("overview");
    expect(tabAfterKey(tabs, "rules", "End")).toBe("health");
  });
  it("leaves other keys and unknown tabs alone", () => {
    expect(tabAfterKey(tabs, "rules", "Enter")).toBeNull();
    expect(tabAfterKey(tabs, "rules", "ArrowDown")).toBeNull();
    expect(tabAfterKey(tabs as readonly string[], "nope", "ArrowRight")).toBeNull();
  });
});
