import { describe, expect, it } from "vitest";
import type { Replacement_Serialize as Replacement, StepId, StepStatus } from "./bindings";
import { changesSomething, currentStep, dnsNotReady, formFrom, inputFrom, needOf } from "./replace";

const IDS: StepId[] = ["copy", "dry_run", "create", "active", "certificates", "rehearsal", "dns", "verify", "wait", "delete_old"];

function plan(at: StepId, status: StepStatus, extra: Partial<Replacement> = {}, message = ""): Replacement {
  const i = IDS.indexOf(at);
  return {
    oldId: "old",
    oldName: "web",
    oldIp: "192.0.2.1",
    account: "Sandbox",
    startedAt: "2026-12-06T06:00:00Z",
    fixed: { region: null, vpcUuid: null, lbType: null, network: null, networkStack: "DUALSTACK" },
    differences: ["network_stack: IPV4 → DUALSTACK"],
    request: {} as Replacement["request"],
    newId: "new",
    newIp: "192.0.2.9",
    newIpv6: null,
    domain: "example.com",
    names: [],
    waitSecs: 0,
    verifiedAt: null,
    finished: false,
    steps: IDS.map((id, j) => ({
      id,
      status: j < i ? "done" : j === i ? status : "pending",
      message: j === i ? message : "",
      at: null,
    })),
    ...extra,
  };
}

describe("replace", () => {
  it("finds the step it stopped at and what it needs", () => {
    expect(currentStep(plan("dns", "blocked"))?.id).toBe("dns");
    expect(needOf(plan("dns", "blocked"))).toBe("dns-approval");
    expect(needOf(plan("dns", "blocked", { domain: null }))).toBe("domain");
    expect(needOf(plan("delete_old", "blocked"))).toBe("delete-name");
    expect(needOf(plan("wait", "blocked"))).toBe("wait");
    expect(needOf(plan("active", "failed"))).toBe("retry");
    expect(needOf(plan("create", "pending"))).toBe("continue");
    expect(needOf(plan("delete_old", "done", { finished: true }))).toBe("nothing");
  });

  it("says when the DNS step waits on red readiness", () => {
    expect(dnsNotReady(plan("dns", "blocked", {}, "Not applied: 1 readiness item(s) are not green (ttl)"))).toBe(true);
    expect(dnsNotReady(plan("dns", "blocked", {}, "approve the DNS change: …"))).toBe(false);
  });

  it("sends only the fixed fields that change", () => {
    const old = formFrom({ name: "web", region: { slug: "nyc3" }, network_stack: "IPV4" });
    expect(old.newName).toBe("web-new");
    expect(changesSomething(old, old)).toBe(false);
    const form = { ...old, networkStack: "DUALSTACK", domain: " example.com ", names: "@, www blog" };
    expect(changesSomething(form, old)).toBe(true);
    const input = inputFrom(form, old);
    expect(input.fixed).toEqual({ region: null, networkStack: "DUALSTACK", network: null, lbType: null, vpcUuid: null });
    expect(input.domain).toBe("example.com");
    expect(input.names).toEqual(["@", "www", "blog"]);
    expect(inputFrom({ ...old, region: "ams3" }, old).fixed?.region).toBe("ams3");
  });
});
