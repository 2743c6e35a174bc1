import { describe, expect, it } from "vitest";
import type {
  DnsPlan_Serialize as DnsPlan,
  HttpsCheck_Serialize as HttpsCheck,
  LbChoice,
  ReadinessItem_Serialize as ReadinessItem,
  RecordChange_Serialize as RecordChange,
} from "./bindings";
import {
  answerLines,
  applyGate,
  certificateLine,
  diffRows,
  domainOptions,
  duration,
  httpsLine,
  progressLine,
  readinessSummary,
  stepStates,
  suggestDomain,
  verifyWindow,
  rehearsalFor,
  recordRows,
  filterRecords,
  caaFixRecord,
  pointsBadge,
  proxiedLabel,
  readinessKind,
  verifyBadge,
} from "./dns";

const choice = (domains: string[], passthrough = false): LbChoice => ({
  id: "lb1",
  name: "shop",
  passthrough,
  proxyProtocol: false,
  domains,
  certificates: [],
});

describe("suggestDomain", () => {
  it("prefers a domain of the LB that the account hosts", () => {
    expect(suggestDomain(choice(["a.example.org", "example.com"]), ["example.com"])).toBe("example.com");
  });
  it("falls back to the hosted zone containing the LB's certificate name", () => {
    expect(suggestDomain(choice(["blog.example.com"]), ["example.com", "other.net"])).toBe("example.com");
  });
  it("uses the LB's own first domain when the account hosts none of them", () => {
    expect(suggestDomain(choice(["shop.example.org"]), ["example.com"])).toBe("shop.example.org");
  });
  it("gives a passthrough LB without domains the account's first domain", () => {
    expect(suggestDomain(choice([], true), ["sandbox-shop.test"])).toBe("sandbox-shop.test");
    expect(suggestDomain(undefined, [])).toBe("");
  });
  it("skips wildcards and normalises case and the final dot", () => {
    expect(suggestDomain(choice(["*.Example.com", "Example.COM."]), [])).toBe("example.com");
    expect(domainOptions(choice(["*.x.com", "b.com"]), ["a.com", "b.com"])).toEqual(["a.com", "b.com"]);
  });
});

const change = (over: Partial<RecordChange>): RecordChange => ({
  name: "@",
  action: "update",
  record_id: 5,
  before: { kind: "A", data: "192.0.2.11", ttl: 3600 },
  after: { kind: "A", data: "203.0.113.9", ttl: 300 },
  ...over,
});

describe("diffRows", () => {
  it("shows before → after per record with full names", () => {
    const rows = diffRows(
      [
        change({}),
        change({ name: "www", action: "create", record_id: null, before: null }),
        change({ name: "www", action: "delete", after: null, before: { kind: "CNAME", data: "elsewhere.net", ttl: 60 } }),
      ],
      "example.com",
    );
    expect(rows.map((r) => [r.name, r.action, r.before, r.after])).toEqual([
      ["example.com", "update", "A 192.0.2.11 · TTL 3600", "A 203.0.113.9 · TTL 300"],
      ["www.example.com", "create", null, "A 203.0.113.9 · TTL 300"],
      ["www.example.com", "delete", "CNAME elsewhere.net · TTL 60", null],
    ]);
    expect(rows.every((r) => !r.ttlOnly)).toBe(true);
  });
  it("marks a TTL-only change", () => {
    const [row] = diffRows([change({ after: { kind: "A", data: "192.0.2.11", ttl: 300 } })], "example.com");
    expect(row.ttlOnly).toBe(true);
  });
});

const item = (id: string, ok: boolean): ReadinessItem => ({ id, ok, reason: `${id} reason`, safe_at: null });

describe("readinessSummary", () => {
  it("is ok only when every item is green", () => {
    expect(readinessSummary([item("lb_active", true), item("ttl", true)])).toMatchObject({ ok: true, passed: 2, total: 2 });
    const s = readinessSummary([item("lb_active", true), item("certificates", false), item("ttl", false)]);
    expect(s.ok).toBe(false);
    expect(s.failing).toEqual(["certificates", "ttl"]);
    expect(s.text).toBe("2 of 3 checks need attention: Backend certificates, Current TTL");
  });
  it("is not ok before anything was checked", () => {
    expect(readinessSummary([])).toMatchObject({ ok: false, text: "Not checked yet" });
  });
});

const plan = (over: Partial<DnsPlan> = {}): DnsPlan => ({
  domain: "example.com",
  lb_ip: "203.0.113.9",
  lb_ipv6: null,
  ttl: 300,
  names: ["@", "www"],
  changes: [change({})],
  ttl_step: { changes: [change({ after: { kind: "A", data: "192.0.2.11", ttl: 300 } })], wait_secs: 3600 },
  rollback: [],
  provider_records: [],
  ...over,
});

describe("applyGate", () => {
  const base = { plan: plan(), hosted: true, readiness: [item("lb_active", true)], override: false, busy: false };
  it("allows a planned cutover with a green checklist", () => {
    expect(applyGate(base, false)).toEqual({ ok: true, reason: null });
  });
  it("blocks on red items unless overridden", () => {
    const red = { ...base, readiness: [item("certificates", false)] };
    expect(applyGate(red, false)).toEqual({ ok: false, reason: "Readiness: Backend certificates not green." });
    expect(applyGate({ ...red, override: true }, false).ok).toBe(true);
    // The TTL step changes no address: red items do not block it.
    expect(applyGate(red, true).ok).toBe(true);
  });
  it("explains every other reason", () => {
    expect(applyGate({ ...base, plan: null }, false).reason).toBe("Make a plan first.");
    expect(applyGate({ ...base, hosted: false }, false).reason).toMatch(/DNS provider/);
    expect(applyGate({ ...base, readiness: null }, false).reason).toMatch(/readiness/);
    expect(applyGate({ ...base, plan: plan({ changes: [] }) }, false).reason).toMatch(/Nothing to change/);
    expect(applyGate({ ...base, plan: plan({ ttl_step: null }) }, true).reason).toMatch(/already low/);
    expect(applyGate({ ...base, busy: true }, false).ok).toBe(false);
  });
});

describe("stepStates", () => {
  const s = {
    picked: true,
    statusLoaded: true,
    readiness: null as ReadinessItem[] | null,
    plan: null as DnsPlan | null,
    phase: "idle" as const,
    savedRollback: false,
  };
  it("walks the steps top to bottom", () => {
    expect(stepStates({ ...s, picked: false, statusLoaded: false })).toMatchObject({ pick: "current", where: "todo" });
    expect(stepStates(s)).toMatchObject({ pick: "done", where: "done", ready: "current", plan: "todo" });
    expect(stepStates({ ...s, readiness: [item("ttl", false)] })).toMatchObject({ ready: "current" });
    expect(stepStates({ ...s, readiness: [item("ttl", true)] })).toMatchObject({ ready: "done", plan: "current" });
    expect(stepStates({ ...s, readiness: [item("ttl", true)], plan: plan() })).toMatchObject({ apply: "current" });
  });
  it("stays on apply while verifying, then offers rollback", () => {
    const applied = { ...s, readiness: [item("ttl", true)], plan: plan(), savedRollback: true };
    expect(stepStates({ ...applied, phase: "verifying" })).toMatchObject({ apply: "current", rollback: "todo" });
    expect(stepStates({ ...applied, phase: "verify_failed" })).toMatchObject({ apply: "current" });
    expect(stepStates({ ...applied, phase: "verified" })).toMatchObject({ apply: "done", rollback: "current" });
    expect(stepStates({ ...applied, phase: "rolled_back", savedRollback: false })).toMatchObject({ rollback: "done" });
  });
});

describe("text helpers", () => {
  it("formats polls, answers, durations and the HTTPS check", () => {
    expect(progressLine({ attempt: 3, ready: ["example.com"], waiting: ["www.example.com"] })).toBe(
      "Poll 3: ready example.com · waiting www.example.com",
    );
    expect(progressLine({ attempt: 1, ready: [], waiting: ["a.com"] })).toBe("Poll 1: waiting a.com");
    expect(answerLines([], "timed out")).toEqual(["timed out"]);
    expect(answerLines([{ kind: "A", data: "1.2.3.4", ttl: 60 }], null)).toEqual(["A 1.2.3.4 · TTL 60"]);
    expect(duration(40)).toBe("40 s");
    expect(duration(300)).toBe("5 min");
    expect(duration(3600)).toBe("1 h");
    expect(duration(3900)).toBe("1 h 5 min");
    const h: HttpsCheck = {
      url: "https://example.com/",
      addr: "127.0.0.1:4431",
      status: 200,
      ok: true,
      error: null,
      certificate: null,
    };
    expect(httpsLine(h)).toBe("OK: HTTP 200 from https://example.com/ at 127.0.0.1:4431");
    expect(certificateLine(h)).toBeNull();
    expect(httpsLine({ ...h, ok: false, status: null, error: "certificate expired" })).toBe(
      "Failed: no response from https://example.com/ at 127.0.0.1:4431 — certificate expired",
    );
  });
});

describe("verifyWindow", () => {
  it("takes whole seconds from 1 to 3600", () => {
    expect(verifyWindow(120)).toBe(120);
    expect(verifyWindow(" 5 ")).toBe(5);
    expect(verifyWindow(3600)).toBe(3600);
  });
  it("refuses anything else", () => {
    for (const bad of [0, -1, 3601, 1.5, "", "abc", null, undefined, Number.NaN]) expect(verifyWindow(bad)).toBeNull();
  });
});

describe("rehearsalFor", () => {
  const results = {
    "example.com": { ok: false, at: "2026-11-26T10:00:00Z" },
    "www.example.com": { ok: true, at: "2026-11-26T10:05:00Z" },
    "blog.example.com": { ok: false, at: "2026-11-26T10:09:00Z" },
  };
  it("takes the latest request to one of the planned names", () => {
    expect(rehearsalFor(results, "example.com", ["@", "www"])).toBe(true);
    expect(rehearsalFor(results, "Example.com.", [])).toBe(true);
    expect(rehearsalFor(results, "example.com", ["@"])).toBe(false);
    expect(rehearsalFor(results, "example.com", ["blog", "@"])).toBe(false);
  });
  it("is null when no planned name was rehearsed", () => {
    expect(rehearsalFor(results, "example.org", ["@", "www"])).toBeNull();
    expect(rehearsalFor({}, "example.com", [])).toBeNull();
  });
});

describe("the zone's records as rows", () => {
  const rec = (id: number | null, type: string, name: string, data: string, extra: Record<string, unknown> = {}) => ({
    id,
    type,
    name,
    data,
    ttl: 1800,
    priority: null,
    port: null,
    weight: null,
    flags: null,
    tag: null,
    ...extra,
  });
  const plan = {
    domain: "example.com",
    lb_ip: "203.0.113.9",
    lb_ipv6: null,
    ttl: 300,
    names: ["@", "WWW"],
    changes: [
      { name: "@", action: "update" as const, record_id: 7, before: null, after: null },
      { name: "www", action: "create" as const, record_id: null, before: null, after: null },
    ],
    ttl_step: null,
    rollback: [],
    provider_records: [],
  };
  const records = [
    rec(9, "TXT", "zz", "v=spf1 -all"),
    rec(8, "SRV", "_sip._tcp", "sip.example.com", { priority: 10, weight: 5, port: 5060 }),
    rec(7, "A", "@", "192.0.2.1"),
    rec(null, "CAA", "@", "letsencrypt.org", { flags: 0, tag: "issue" }),
    rec(6, "CNAME", "www", "@"),
  ];

  it("sorts the apex first, then by name and type, marks the plan's records, shows the type's extra fields, keys stably", () => {
    const rows = recordRows(records, "example.com", plan);
    expect(rows.map((r) => `${r.name} ${r.type}`)).toEqual([
      "example.com A",
      "example.com CAA",
      "_sip._tcp.example.com SRV",
      "www.example.com CNAME",
      "zz.example.com TXT",
    ]);
    expect(rows.map((r) => r.plan)).toEqual(["change", "name", null, "name", null]);
    expect(rows[2].data).toBe("10 5 5060 sip.example.com");
    expect(rows[1].data).toBe("0 issue letsencrypt.org");
    expect(rows[0].key).toBe("id7");
    expect(rows[1].key).toBe("CAA\u0000@\u0000letsencrypt.org");
    expect(recordRows(records, "example.com", null).every((r) => r.plan === null)).toBe(true);
  });

  it("filters on every word across name, type and data, never across two fields", () => {
    const rows = recordRows(records, "example.com", plan);
    expect(filterRecords(rows, "  ")).toBe(rows);
    expect(filterRecords(rows, "CNAME").map((r) => r.name)).toEqual(["www.example.com"]);
    expect(filterRecords(rows, "example.com a 192").map((r) => r.type)).toEqual(["A"]);
    expect(filterRecords(rows, "5060").map((r) => r.type)).toEqual(["SRV"]);
    // "com" + "a" would only match across the name and the type if joined without a separator.
    expect(filterRecords(rows, "comA")).toEqual([]);
  });
});

describe("the DNS states of issue 15", () => {
  const item = (id: string, ok: boolean, reason = ""): ReadinessItem => ({ id, ok, reason, safe_at: null });
  // Core's words (crates/core/src/dns.rs PROXIED_BY_CLOUDFLARE).
  const core = "proxied by Cloudflare: cannot confirm the origin";

  it("shows a proxied name as neither yes nor not yet, in the CLI's words", () => {
    expect(proxiedLabel(core)).toBe("Proxied by Cloudflare — cannot confirm the origin");
    expect(pointsBadge({ points_to_lb: false, proxied: core })).toEqual({
      kind: "proxied",
      text: "Proxied by Cloudflare — cannot confirm the origin",
    });
    expect(pointsBadge({ points_to_lb: false, proxied: null }).kind).toBe("warn");
    expect(pointsBadge({ points_to_lb: true, proxied: null })).toEqual({ kind: "ok", text: "yes" });
  });

  it("shows the renewal warning as a warning that never blocks, and a red item as red", () => {
    const warn = item("lets_encrypt_renewal", true, "Warning: the droplets serve 2 different Let's Encrypt certificates.");
    expect(readinessKind(warn)).toBe("warn");
    expect(readinessKind(item("caa", true))).toBe("ok");
    expect(readinessKind(item("caa", false))).toBe("bad");
    const s = readinessSummary([item("ttl", true), warn]);
    expect(s.ok).toBe(true);
    expect(s.warnings).toEqual(["lets_encrypt_renewal"]);
    expect(s.text).toContain("warning: Let's Encrypt renewals on the droplets");
    expect(readinessSummary([item("ttl", true)]).text).toBe("Ready: all 1 checks pass");
  });

  it("finds the CAA record to add in a red caa item's reason, and nothing elsewhere", () => {
    const reason =
      'CAA records for shop.example.com allow only digicert.com: Let\'s Encrypt cannot issue or renew it. Add the record example.com. CAA 0 issue "letsencrypt.org" (or remove the CAA records)';
    expect(caaFixRecord(item("caa", false, reason))).toBe('example.com. CAA 0 issue "letsencrypt.org"');
    expect(caaFixRecord(item("caa", true, reason))).toBeNull();
    expect(caaFixRecord(item("lets_encrypt_zone", false, reason))).toBeNull();
    expect(caaFixRecord(item("caa", false, "no record here"))).toBeNull();
  });

  it("says a verify with unconfirmed names passed where it could see, not plainly verified", () => {
    expect(verifyBadge({ dns_ok: true, unconfirmed: ["www.example.com"] })).toEqual({
      kind: "ok",
      text: "DNS verified where visible (1 unconfirmed)",
    });
    expect(verifyBadge({ dns_ok: true, unconfirmed: [] }).text).toBe("DNS verified");
    expect(verifyBadge({ dns_ok: false, unconfirmed: ["www.example.com"] }).kind).toBe("err");
  });
});
