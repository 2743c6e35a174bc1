// The certificate management panel over fake commands: an upload is checked before it can be
// sent (a picked key crosses as its path only), and a rotation shows its review, then its
// outcome with what is left.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  let answers: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  const calls: Record<string, unknown[][]> = {};
  const plan = {
    oldName: "blog-le", oldId: "c1", oldDnsNames: ["blog.test"], oldNotAfter: "2027-01-01T00:00:00Z",
    newDescription: 'new Let\'s Encrypt certificate "blog-2" for blog.test', newName: "blog-2", uploadCheck: null,
    targets: [{ lbId: "lb1", lbName: "blog-https", rules: ["https 443 → http 80"], domains: [], kubernetes: null }],
    steps: ["Create it.", 'Point https 443 → http 80 of "blog-https" at "blog-2".', 'Delete the old certificate "blog-le".'],
    blockers: [] as string[], warnings: [] as string[],
  };
  const reset = () => {
    answers = {
      checkCertificateUpload: () =>
        ok({
          name: "shop", ok: false, namesChecked: ["shop.test"],
          chain: [{ subject: "CN=shop.test", issuer: "CN=Int", not_after: "2021-01-01T00:00:00Z" }],
          findings: [{ code: "cert.expired", severity: "critical", message: "The uploaded certificate: the certificate expired 5 years ago.", blocks: true }],
        }),
      planCertificateRotation: () => ok(plan),
      rotateCertificate: () =>
        ok({
          complete: false, created: true, oldDeleted: false, oldKeptBecause: "in use",
          newCertificate: { name: "blog-2", id: "c2", state: "verified" },
          loadBalancers: [{ lbId: "lb1", lbName: "blog-https", updated: true, error: null }],
          left: ['Delete "blog-le" once nothing uses it.'],
        }),
      pickPemFile: () => ok("/home/me/key.pem"),
    };
  };
  reset();
  const commands = new Proxy({} as Record<string, (...args: unknown[]) => Promise<unknown>>, {
    get:
      (_, name: string) =>
      (...args: unknown[]) => {
        (calls[name] ??= []).push(args);
        return answers[name](...args);
      },
  });
  return { reset, commands, calls, plan, answers: () => answers };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: {} }));
vi.mock("@tauri-apps/api/core", () => ({ Channel: class { onmessage: unknown = null } }));

const { default: CertManage } = await import("./CertManage.svelte");

const certs = [
  { id: "c1", name: "blog-le", kind: "lets_encrypt", state: "verified", dnsNames: ["blog.test"], notAfter: "2027-01-01", daysLeft: 60, sha1Fingerprint: "", usedBy: ["blog-https"] },
  { id: "c3", name: "shop-wildcard", kind: "custom", state: "verified", dnsNames: ["*.shop.test"], notAfter: "2027-01-01", daysLeft: 90, sha1Fingerprint: "", usedBy: [] },
];
const q = (c: HTMLElement, id: string) => c.querySelector<HTMLElement>(`[data-testid='${id}']`);
const input = (c: HTMLElement, id: string) => c.querySelector<HTMLInputElement>(`[data-testid='${id}']`)!;

afterEach(cleanup);
beforeEach(() => {
  fake.reset();
  for (const name of Object.keys(fake.calls)) delete fake.calls[name];
});

describe("upload", () => {
  it("is checked first; a refused check offers no Upload; a picked key is sent as its path only", async () => {
    const { container: c } = render(CertManage, { certs, onChanged: () => {} });
    await fireEvent.click(q(c, "cert-manage-tab-upload")!);
    await fireEvent.input(input(c, "cert-upload-name"), { target: { value: "shop" } });
    await fireEvent.click(input(c, "cert-upload-cert-mode-paste"));
    await waitFor(() => expect(q(c, "cert-upload-cert-text")).not.toBeNull());
    await fireEvent.input(q(c, "cert-upload-cert-text")!, { target: { value: "-----BEGIN CERTIFICATE-----" } });
    await fireEvent.click(q(c, "cert-upload-key-pick")!);
    await waitFor(() => expect(input(c, "cert-upload-key-path").value).toBe("/home/me/key.pem"));
    await fireEvent.click(q(c, "cert-upload-check")!);
    await waitFor(() => expect(q(c, "cert-upload-review")).not.toBeNull());
    expect(q(c, "cert-upload-review")!.dataset.ok).toBe("false");
    expect(q(c, "cert-upload-findings")!.textContent).toContain("cert.expired");
    expect(q(c, "cert-upload-send")).toBeNull();
    const form = fake.calls.checkCertificateUpload[0][0] as { key: unknown; cert: unknown };
    expect(form.key).toEqual({ path: "/home/me/key.pem", text: null });
    expect(form.cert).toEqual({ path: null, text: "-----BEGIN CERTIFICATE-----" });
  });
});

describe("rotate", () => {
  it("reviews, then rotates and shows what is left", async () => {
    let changed = 0;
    const { container: c } = render(CertManage, { certs, onChanged: () => changed++ });
    await waitFor(() => expect(input(c, "cert-rotate-old").value).toBe("blog-le"));
    await fireEvent.input(input(c, "cert-rotate-name"), { target: { value: "blog-2" } });
    await fireEvent.click(q(c, "cert-rotate-review")!);
    await waitFor(() => expect(q(c, "cert-rotate-plan")).not.toBeNull());
    expect(q(c, "cert-rotate-summary")!.textContent).toContain("1 load balancer to repoint");
    expect(q(c, "cert-rotate-steps")!.querySelectorAll("li").length).toBe(3);
    const form = fake.calls.planCertificateRotation[0][0] as { old: string; new: unknown };
    expect(form.old).toBe("blog-le");
    expect(form.new).toEqual({ kind: "lets_encrypt", name: "blog-2", dns_names: [] });

    await fireEvent.click(q(c, "cert-rotate-apply")!);
    await waitFor(() => expect(q(c, "cert-rotate-outcome")).not.toBeNull());
    expect(q(c, "cert-rotate-outcome")!.dataset.complete).toBe("false");
    expect(q(c, "cert-rotate-left")!.textContent).toContain("once nothing uses it");
    expect(changed).toBe(1);
  });

  it("a blocked plan cannot be applied", async () => {
    fake.answers().planCertificateRotation = () =>
      Promise.resolve({ status: "ok", data: { ...fake.plan, blockers: ["The name is taken."] } });
    const { container: c } = render(CertManage, { certs, onChanged: () => {} });
    await waitFor(() => expect(input(c, "cert-rotate-old").value).toBe("blog-le"));
    await fireEvent.input(input(c, "cert-rotate-name"), { target: { value: "shop-wildcard" } });
    await fireEvent.click(q(c, "cert-rotate-review")!);
    await waitFor(() => expect(q(c, "cert-rotate-blocker")).not.toBeNull());
    expect((q(c, "cert-rotate-apply") as HTMLButtonElement).disabled).toBe(true);
  });
});
