import { describe, expect, it } from "vitest";
import {
  advice,
  comparisonRows,
  daysLeft,
  differingBackends,
  groupByCertificate,
  groupOf,
  parseBackends,
  recheckDroplets,
  severityClass,
  SharedCertificates,
  withRechecked,
  type BackendLike,
  type LeafLike,
} from "./certs";

const leaf = (over: Partial<LeafLike> = {}): LeafLike => ({
  sha256: "aaaa",
  subject: "CN=shop.test",
  issuer: "CN=Sandbox CA",
  sans: ["shop.test", "*.shop.test"],
  not_before: "2026-01-01T00:00:00Z",
  not_after: "2027-01-01T00:00:00Z",
  not_after_unix: 1798761600,
  key_type: "EC",
  key_bits: 256,
  curve: "P-256",
  signature_algorithm: "ecdsa-with-SHA256",
  ...over,
});

const backend = (label: string, l: LeafLike | null, protocol: string | null = "TLSv1.3"): BackendLike => ({
  label,
  address: "127.0.0.1:443",
  protocol,
  leaf: l,
  severity: null,
  probe: { tls: l ? { alpn: "http/1.1" } : null, chain: l ? [{ subject: l.subject }, { subject: "CN=Sandbox CA" }] : [] },
});

describe("groupByCertificate", () => {
  it("names the most common certificate A and puts the odd one in B", () => {
    const odd = leaf({ sha256: "bbbb", not_after: "2026-11-29T00:00:00Z", sans: ["shop.test"] });
    const groups = groupByCertificate([backend("web-3", odd), backend("web-1", leaf()), backend("web-2", leaf())]);
    expect(groups).toEqual([
      { name: "A", sha256: "aaaa", backends: ["web-1", "web-2"] },
      { name: "B", sha256: "bbbb", backends: ["web-3"] },
    ]);
    expect(groupOf(groups).get("web-3")).toBe("B");
  });

  it("collects backends without a certificate last", () => {
    const groups = groupByCertificate([backend("down", null), backend("web-1", leaf())]);
    expect(groups.map((g) => [g.name, g.backends])).toEqual([
      ["A", ["web-1"]],
      ["—", ["down"]],
    ]);
  });

  it("keeps first-seen order on ties", () => {
    const groups = groupByCertificate([backend("x", leaf({ sha256: "x" })), backend("y", leaf({ sha256: "y" }))]);
    expect(groups.map((g) => g.sha256)).toEqual(["x", "y"]);
  });
});

describe("comparisonRows", () => {
  const odd = leaf({ sha256: "bbbb", not_after: "2026-11-29T00:00:00Z", sans: ["shop.test"] });
  const fleet = [backend("web-1", leaf()), backend("web-2", leaf()), backend("web-3", odd)];

  it("highlights exactly the cells of the backend that differs", () => {
    const rows = comparisonRows(fleet);
    const byField = Object.fromEntries(rows.map((r) => [r.field, r.differs]));
    expect(byField["Fingerprint (SHA-256)"]).toEqual([false, false, true]);
    expect(byField["SANs"]).toEqual([false, false, true]);
    expect(byField["Valid"]).toEqual([false, false, true]);
    expect(byField["Issuer"]).toEqual([false, false, false]);
    expect(byField["TLS version"]).toEqual([false, false, false]);
    expect(differingBackends(fleet)).toEqual(["web-3"]);
  });

  it("treats SANs in another order as the same", () => {
    const reordered = leaf({ sans: ["*.shop.test", "shop.test"] });
    const rows = comparisonRows([backend("a", leaf()), backend("b", reordered)]);
    expect(rows.find((r) => r.field === "SANs")?.differs).toEqual([false, false]);
  });

  it("marks a backend that served nothing, and nothing when alone", () => {
    const rows = comparisonRows([backend("a", leaf()), backend("b", leaf()), backend("down", null, null)]);
    expect(rows[0].differs).toEqual([false, false, true]);
    expect(comparisonRows([backend("a", leaf())]).every((r) => r.differs.every((d) => !d))).toBe(true);
    expect(comparisonRows([backend("a", null, null), backend("b", null, null)])[0].differs).toEqual([false, false]);
  });
});

describe("helpers", () => {
  it("gives advice per code and a fallback", () => {
    expect(advice("fleet.fingerprint_mismatch")).toMatch(/same certificate/);
    expect(advice("unknown.code")).toMatch(/message/);
  });
  it("maps severities to badge classes", () => {
    expect(severityClass(null)).toBe("ok");
    expect(severityClass("info")).toBe("ok");
    expect(severityClass("warning")).toBe("warn");
    expect(severityClass("error")).toBe("err");
    expect(severityClass("critical")).toBe("err");
  });
  it("counts days left", () => {
    expect(daysLeft(86_400 * 3, 0)).toBe(3);
    expect(daysLeft(0, 86_400_000)).toBe(-1);
  });
  it("splits the backend list", () => {
    expect(parseBackends(" 1.2.3.4:443,\n[::1]:8443\n\n")).toEqual(["1.2.3.4:443", "[::1]:8443"]);
  });
});

import { changedOptions, checkOptions, DEFAULT_OPTIONS, terminationSummary } from "./certs";

describe("check options", () => {
  it("sends nothing special by default", () => {
    expect(checkOptions(DEFAULT_OPTIONS)).toEqual({
      ok: true,
      options: { proxy_protocol: null, timeout_secs: null, ca_pem: null, concurrency: null },
      caFile: null,
    });
    expect(changedOptions(DEFAULT_OPTIONS)).toBe(0);
  });

  it("maps a valid form", () => {
    const r = checkOptions({ timeout: " 2.5 ", proxy: "v1", caFile: " /tmp/ca.pem " });
    expect(r).toEqual({
      ok: true,
      options: { proxy_protocol: "v1", timeout_secs: 2.5, ca_pem: null, concurrency: null },
      caFile: "/tmp/ca.pem",
    });
    expect(changedOptions({ timeout: "2.5", proxy: "v1", caFile: "/tmp/ca.pem" })).toBe(3);
  });

  it("refuses timeouts out of range or not numbers, and relative CA paths", () => {
    for (const [timeout, msg] of [
      ["0", "between 0.5 and 300"],
      ["301", "between 0.5 and 300"],
      ["-1", "number of seconds"],
      ["5s", "number of seconds"],
      ["1e3", "number of seconds"],
    ]) {
      const r = checkOptions({ ...DEFAULT_OPTIONS, timeout });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.timeout).toContain(msg);
    }
    const r = checkOptions({ ...DEFAULT_OPTIONS, caFile: "ca.pem" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.caFile).toContain("full path");
    expect(checkOptions({ ...DEFAULT_OPTIONS, timeout: "300", caFile: "C:\\certs\\ca.pem" }).ok).toBe(true);
  });
});

describe("TLS termination summary", () => {
  it("explains that plain HTTP backends have nothing to compare", () => {
    const s = terminationSummary("blog-le", { kind: "plain_http", target_protocol: "http", target_port: 80 });
    expect(s.tone).toBe("neutral");
    expect(s.text).toContain("plain HTTP to port 80");
    expect(s.text).toContain("nothing to compare");
  });

  it("names the droplets that differ or could not be read", () => {
    const c = (label: string, same: boolean, error: string | null = null) => ({ label, same, error, differences: [] });
    const all = terminationSummary("shop", { kind: "re_encrypt", target_port: 443, domain: "shop.test", compared: [c("web-1", true), c("web-2", true)] });
    expect(all).toEqual({ text: "All 2 droplets serve the load balancer's certificate shop.", tone: "ok" });
    const some = terminationSummary(null, {
      kind: "re_encrypt",
      target_port: 443,
      domain: "shop.test",
      compared: [c("web-1", true), c("web-2", false, "refused"), c("web-3", false)],
    });
    expect(some.tone).toBe("warn");
    expect(some.text).toBe("1 of 3 droplets serve the load balancer's certificate; web-3 serves another one; web-2 could not be read.");
  });
});

describe("withRechecked", () => {
  const A = leaf();
  const B = leaf({ sha256: "bbbb" });
  const shown = [backend("web-1", A), backend("web-2", A), backend("web-3", B)];

  it("puts the rechecked backend in its place and keeps the others", () => {
    const fixed = backend("web-3", A);
    const out = withRechecked(shown, [fixed]);
    expect(out.map((b) => b.label)).toEqual(["web-1", "web-2", "web-3"]);
    expect(out[2]).toBe(fixed);
    expect(out[0]).toBe(shown[0]);
    expect(differingBackends(out)).toEqual([]);
    expect(differingBackends(shown)).toEqual(["web-3"]);
  });

  it("is the shown list until something came back, and adds a label it lacked at the end", () => {
    expect(withRechecked(shown, [])).toBe(shown);
    const out = withRechecked(shown, [backend("web-4", B)]);
    expect(out.map((b) => b.label)).toEqual(["web-1", "web-2", "web-3", "web-4"]);
  });
});

describe("recheckDroplets", () => {
  it("takes the remedy's droplets, else the ones rechecked last", () => {
    expect(recheckDroplets({ droplets: ["web-3"] }, ["web-9"])).toEqual(["web-3"]);
    expect(recheckDroplets(null, ["web-3"])).toEqual(["web-3"]);
    expect(recheckDroplets({ droplets: [] }, null)).toEqual([]);
  });
});

describe("SharedCertificates", () => {
  const cert = (sha256: string) => ({ sha256, pem: `-----BEGIN CERTIFICATE-----\n${sha256}\n`, subject: `CN=${sha256}` });
  // As the IPC gives them: every backend's certificates are objects of their own.
  const backend = (leaf: string, fallback: string | null) => ({
    label: leaf,
    leaf: cert(leaf),
    probe: { chain: [cert(leaf), cert("ca")], default_certificate: fallback ? { leaf: cert(fallback) } : null },
  });

  it("puts one object per certificate in every place, across backends and runs of the stream", () => {
    const shared = new SharedCertificates<ReturnType<typeof cert>>();
    const [a, b] = shared.backends([backend("aaa", "aaa"), backend("aaa", null)]);
    const c = shared.backend(backend("bbb", "aaa"));
    expect(a.leaf).toBe(a.probe.chain[0]);
    expect(a.probe.default_certificate?.leaf).toBe(a.leaf);
    expect(b.leaf).toBe(a.leaf);
    expect(b.probe.chain[1]).toBe(a.probe.chain[1]);
    expect(c.probe.default_certificate?.leaf).toBe(a.leaf);
    // A different certificate stays itself, and equal to what was sent.
    expect(c.leaf).not.toBe(a.leaf);
    expect(c.leaf).toEqual(cert("bbb"));
    expect(c.probe.chain[0]).toBe(c.leaf);
  });

  it("leaves a certificate without a fingerprint alone", () => {
    const shared = new SharedCertificates<ReturnType<typeof cert>>();
    const x = cert("");
    const y = cert("");
    expect(shared.cert(x)).toBe(x);
    expect(shared.cert(y)).toBe(y);
  });
});
