import { describe, expect, it } from "vitest";
import type { GlbDomain, GlbTarget, RotateOutcome, RotatePlan, UploadCheck } from "./bindings";
import {
  byPriority,
  checkSummary,
  domainTone,
  emptyPem,
  emptyUpload,
  newCertificateForm,
  outcomeSummary,
  parseNames,
  pemSource,
  planSummary,
  uploadErrors,
  uploadForm,
} from "./certmanage";

describe("PEM entries", () => {
  it("send a picked file as its path only, and pasted text as text", () => {
    expect(pemSource({ mode: "file", path: " /k.pem ", text: "ignored" })).toEqual({ path: "/k.pem", text: null });
    expect(pemSource({ mode: "paste", path: "/ignored", text: "-----BEGIN" })).toEqual({ path: null, text: "-----BEGIN" });
    expect(pemSource(emptyPem())).toEqual({ path: null, text: null });
  });

  it("an upload needs a name, a certificate and a key; the chain is optional", () => {
    const f = emptyUpload();
    expect(Object.keys(uploadErrors(f)).sort()).toEqual(["cert", "key", "name"]);
    f.name = "shop";
    f.cert = { mode: "paste", path: "", text: "CERT" };
    f.key = { mode: "file", path: "/k.pem", text: "" };
    expect(uploadErrors(f)).toEqual({});
    expect(uploadForm(f)).toEqual({
      name: "shop",
      cert: { path: null, text: "CERT" },
      key: { path: "/k.pem", text: null },
      chain: { path: null, text: null },
      caFile: null,
      allowUntrusted: false,
    });
  });
});

describe("names and the new certificate", () => {
  it("parses names by line, comma or space, once each", () => {
    expect(parseNames("Shop.Test.\nwww.shop.test, shop.test  *.api.test")).toEqual(["shop.test", "www.shop.test", "*.api.test"]);
    expect(parseNames("  ")).toEqual([]);
  });

  it("builds each kind", () => {
    const up = emptyUpload();
    expect(newCertificateForm("existing", " b ", "", up)).toEqual({ kind: "existing", name: "b" });
    expect(newCertificateForm("lets_encrypt", "b", "a.test", up)).toEqual({ kind: "lets_encrypt", name: "b", dns_names: ["a.test"] });
    const u = newCertificateForm("upload", "b", "", up);
    expect(u.kind).toBe("upload");
    if (u.kind === "upload") expect(u.form.name).toBe("b");
  });
});

describe("summaries", () => {
  const finding = (blocks: boolean) => ({ code: "x", severity: "critical" as const, message: "m", blocks });
  it("say whether an upload may be sent", () => {
    const check = { name: "a", ok: false, chain: [], namesChecked: [], findings: [finding(true), finding(false)] } as UploadCheck;
    expect(checkSummary(check)).toBe("Refused: 1 problem to fix before it can be sent.");
    expect(checkSummary({ ...check, ok: true, findings: [] })).toBe("Nothing stops the upload.");
    expect(checkSummary({ ...check, ok: true, findings: [finding(false)] })).toBe("Nothing stops the upload (1 note).");
  });

  it("a plan names the load balancers to repoint, or its first blocker", () => {
    const plan = {
      oldName: "blog-le", newDescription: "new Let's Encrypt certificate \"b\"", blockers: [],
      targets: [{ lbId: "1", lbName: "blog", rules: ["https 443"], domains: [], kubernetes: null }],
    } as unknown as RotatePlan;
    expect(planSummary(plan)).toContain("1 load balancer to repoint");
    expect(planSummary({ ...plan, blockers: ["taken"] })).toBe("Cannot rotate: taken");
  });

  it("an outcome says what is left", () => {
    const o = { complete: false, created: true, left: ["a", "b"], newCertificate: { name: "n" } } as unknown as RotateOutcome;
    expect(outcomeSummary(o)).toBe('Not complete: "n" was created and stays; 2 things left to do.');
    expect(outcomeSummary({ ...o, complete: true, left: [] })).toContain("Rotation complete");
  });
});

describe("global load balancer", () => {
  it("domain tones", () => {
    const d = { name: "a", status: "ACTIVE", errors: [] } as unknown as GlbDomain;
    expect(domainTone(d)).toBe("ok");
    expect(domainTone({ ...d, status: "CREATING" })).toBe("warn");
    expect(domainTone({ ...d, status: "ACTIVE", errors: ["x"] })).toBe("warn");
    expect(domainTone({ ...d, status: "ERROR" })).toBe("err");
  });

  it("targets by priority, unprioritised last", () => {
    const t = (name: string, priority: number | null) => ({ name, priority }) as unknown as GlbTarget;
    expect(byPriority([t("c", null), t("b", 2), t("a", 1)]).map((x) => x.name)).toEqual(["a", "b", "c"]);
  });
});
