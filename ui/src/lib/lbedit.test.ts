import { describe, expect, it } from "vitest";
import {
  conflictChanges,
  findingsFor,
  formatValue,
  generalFindings,
  hasErrors,
  optionalNumber,
  parseList,
  presetPassthrough,
  presetRedirect,
  redirectComplete,
  type EditLike,
  type FindingLike,
} from "./lbedit";

const http80 = { entry_protocol: "http", entry_port: 80, target_protocol: "http", target_port: 80, tls_passthrough: false };
const https443 = {
  entry_protocol: "https",
  entry_port: 443,
  target_protocol: "http",
  target_port: 80,
  tls_passthrough: false,
  certificate_id: "cert",
};
const edit = (over: Partial<EditLike> = {}): EditLike => ({
  forwardingRules: [],
  healthCheck: null,
  redirectHttpToHttps: false,
  ...over,
});
const finding = (field: string, severity: "error" | "warning" = "error"): FindingLike => ({
  code: "x",
  severity,
  field,
  message: field,
});

describe("findingsFor", () => {
  it("matches the field and what is beneath it, not a longer name", () => {
    const all = [
      finding("health_check.port"),
      finding("health_check"),
      finding("forwarding_rules[1].certificate_id"),
      finding("redirect_http_to_https"),
      finding("health_checker"),
    ];
    expect(findingsFor(all, "health_check").map((f) => f.field)).toEqual(["health_check.port", "health_check"]);
    expect(findingsFor(all, "forwarding_rules").map((f) => f.field)).toEqual(["forwarding_rules[1].certificate_id"]);
    expect(generalFindings(all, ["health_check", "forwarding_rules", "redirect_http_to_https"]).map((f) => f.field)).toEqual([
      "health_checker",
    ]);
  });
  it("tells errors from warnings", () => {
    expect(hasErrors([finding("a", "warning")])).toBe(false);
    expect(hasErrors([finding("a", "warning"), finding("b")])).toBe(true);
  });
});

describe("presets", () => {
  it("passthrough replaces whatever listened on 443 and checks TCP 443", () => {
    const out = presetPassthrough(edit({ forwardingRules: [http80, https443], healthCheck: { protocol: "http", port: 80, path: "/" } }));
    expect(out.forwardingRules).toHaveLength(2);
    const rule = out.forwardingRules.find((r) => r.entry_port === 443);
    expect(rule?.tls_passthrough).toBe(true);
    expect(rule?.certificate_id).toBeUndefined();
    expect(rule?.target_port).toBe(443);
    expect(out.healthCheck).toMatchObject({ protocol: "tcp", port: 443, path: undefined });
  });
  it("redirect adds the HTTP 80 rule once and turns the redirect on", () => {
    const out = presetRedirect(edit({ forwardingRules: [https443] }));
    expect(out.redirectHttpToHttps).toBe(true);
    expect(out.forwardingRules.filter((r) => r.entry_port === 80)).toHaveLength(1);
    expect(redirectComplete(out)).toBe(true);
    expect(presetRedirect(out).forwardingRules).toHaveLength(2);
  });
  it("a redirect without an HTTPS 443 rule is incomplete", () => {
    expect(redirectComplete(presetRedirect(edit()))).toBe(false);
  });
});

describe("display helpers", () => {
  it("formats diff values for people", () => {
    expect(formatValue(null)).toBe("(none)");
    expect(formatValue("nyc3")).toBe("nyc3");
    expect(formatValue(true)).toBe("true");
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
  });
  it("reads the changes of a conflict, ignoring junk", () => {
    expect(conflictChanges({ changes: [{ path: "name", before: "a", after: "b" }, 3] })).toEqual([
      { path: "name", before: "a", after: "b" },
    ]);
    expect(conflictChanges(null)).toEqual([]);
    expect(conflictChanges({ changes: "x" })).toEqual([]);
  });
  it("parses optional numbers and lists", () => {
    expect(optionalNumber("")).toBeUndefined();
    expect(optionalNumber("60")).toBe(60);
    expect(optionalNumber("x")).toBeUndefined();
    expect(parseList("ip:1.2.3.4, cidr:10.0.0.0/8\nip:5.6.7.8")).toEqual(["ip:1.2.3.4", "cidr:10.0.0.0/8", "ip:5.6.7.8"]);
  });
});
