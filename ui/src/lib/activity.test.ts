import { describe, expect, it } from "vitest";
import { filterEntries, KIND_CHOICES, subjectOf, subjects, type ActivityEntry } from "./activity";
import { canRevert, kindLabel, revertBlocker } from "./history";

const e = (kind: ActivityEntry["kind"], lbName: string, over: Partial<ActivityEntry> = {}): ActivityEntry => ({
  kind,
  lbId: `${lbName}-id`,
  lbName,
  domain: null,
  account: "prod",
  ...over,
});

describe("activity", () => {
  const entries = [
    e("update", "web"),
    e("dns_apply", "192.0.2.9", { lbId: "", domain: "example.com" }),
    e("delete", "old"),
    e("update", "api"),
  ];

  it("names DNS changes by their domain and load-balancer changes by the load balancer", () => {
    expect(subjectOf(entries[1])).toBe("example.com");
    expect(subjectOf(entries[0])).toBe("web");
    expect(subjects(entries)).toEqual(["api", "example.com", "old", "web"]);
  });

  it("filters by kind and by subject, keeping the order", () => {
    expect(filterEntries(entries, { kind: "update", subject: "" }).map((x) => x.lbName)).toEqual(["web", "api"]);
    expect(filterEntries(entries, { kind: "all", subject: "example.com" })).toEqual([entries[1]]);
    expect(filterEntries(entries, { kind: "all", subject: "web-id" })).toEqual([entries[0]]);
    expect(filterEntries(entries, { kind: "delete", subject: "web" })).toEqual([]);
  });

  it("offers every kind, DNS ones included, and DNS changes are not reverted by an edit", () => {
    expect(KIND_CHOICES.map((k) => k.value)).toContain("dns_rollback");
    expect(kindLabel("dns_apply")).toBe("DNS cutover");
    const dns = { kind: "dns_apply" as const, status: "done" as const, before: [], changes: [] };
    expect(canRevert(dns)).toBe(false);
    expect(revertBlocker(dns)).toMatch(/rollback/);
  });
});

describe("certificate changes in the activity", () => {
  const entries = [
    e("cert_create", "blog-le-2", { lbId: "c2" }),
    e("update", "blog-https"),
    e("cert_delete", "blog-le", { lbId: "c1" }),
  ];

  it("are named by their certificate and filtered by kind, name or id", () => {
    expect(subjectOf(entries[0])).toBe("certificate blog-le-2");
    expect(subjects(entries)).toEqual(["blog-https", "certificate blog-le", "certificate blog-le-2"]);
    expect(filterEntries(entries, { kind: "cert_delete", subject: "" })).toEqual([entries[2]]);
    expect(filterEntries(entries, { kind: "all", subject: "certificate blog-le" })).toEqual([entries[2]]);
    expect(filterEntries(entries, { kind: "all", subject: "c2" })).toEqual([entries[0]]);
  });

  it("are offered as kinds with their labels", () => {
    const labels = Object.fromEntries(KIND_CHOICES.map((k) => [k.value, k.label]));
    expect(labels.cert_create).toBe("Certificate created");
    expect(labels.cert_delete).toBe("Certificate deleted");
  });
});
