// The DNS cutover page over fake commands: the steps, their components and the error boxes
// together, under the test ids the WebDriver journeys use.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  const fail = (code: string, message: string, details: unknown = null) =>
    Promise.resolve({ status: "error", error: { code, message, details } });
  const change = {
    name: "@",
    action: "update",
    record_id: 1,
    before: { kind: "A", data: "192.0.2.1", ttl: 3600 },
    after: { kind: "A", data: "203.0.113.9", ttl: 300 },
  };
  const plan = { domain: "example.com", lb_ip: "203.0.113.9", ttl: 300, names: ["@"], changes: [change], ttl_step: null, rollback: [], provider_records: [] };
  const status = {
    domain: "example.com",
    lb_ip: "203.0.113.9",
    hosted_at_digitalocean: true,
    nameservers: ["ns1.digitalocean.com"],
    names: [
      { name: "example.com", authoritative: [change.before], authoritative_error: null, system: [], system_error: null, points_to_lb: false },
    ],
    records: [],
  };
  const saved = { domain: "example.com", started_at: null, saved: [{ name: "@", type: "A", data: "192.0.2.1", ttl: 3600 }], created: [] };
  const answers: Record<string, () => Promise<unknown>> = {};
  const reset = () => {
    Object.assign(answers, {
      checkSources: () => ok([{ id: "lb1", name: "shop", passthrough: true, proxyProtocol: false, domains: ["example.com"], certificates: [] }]),
      dnsDomains: () => ok(["example.com"]),
      dnsStatus: () => ok(status),
      dnsReadiness: () => ok([{ id: "ttl", ok: false, reason: "TTL 3600 s", safe_at: null }]),
      dnsPlan: () => ok(plan),
      dnsSavedRollback: () => ok(null),
      dnsApply: () => ok({ applied: [change], rollback_file: "/state/example.com.json" }),
      dnsVerify: () => ok({ dns_ok: true, attempts: 1, names: [], https: null, https_skipped: "no HTTPS rule", message: "Every name answers the load balancer" }),
      dnsRollback: () => ok(1),
      dnsForgetRollback: () => ok(true),
    });
  };
  const calls: Record<string, unknown[][]> = {};
  const commands = new Proxy({} as Record<string, (...args: unknown[]) => Promise<unknown>>, {
    get:
      (_, name: string) =>
      (...args: unknown[]) => {
        (calls[name] ??= []).push(args);
        return answers[name]();
      },
  });
  return { ok, fail, saved, answers, reset, commands, calls };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: {} }));
vi.mock("@tauri-apps/api/core", () => ({ Channel: class { onmessage: unknown = null } }));

(window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};
Element.prototype.scrollIntoView = () => {};

const { default: DnsCutover } = await import("./DnsCutover.svelte");

const q = (c: HTMLElement, id: string) => c.querySelector<HTMLElement>(`[data-testid='${id}']`);
const button = (c: HTMLElement, id: string) => c.querySelector<HTMLButtonElement>(`[data-testid='${id}']`)!;

async function lookedUp() {
  const { container } = render(DnsCutover);
  await waitFor(() => expect(container.querySelector("select[data-testid='dns-lb'] option[value='lb1']")).not.toBeNull());
  await waitFor(() => expect((q(container, "dns-domain") as HTMLInputElement).value).toBe("example.com"));
  await fireEvent.click(button(container, "dns-load"));
  await waitFor(() => expect(q(container, "dns-diff")).not.toBeNull());
  return container;
}

async function applyConfirmed(c: HTMLElement) {
  await waitFor(() => expect(button(c, "dns-apply").disabled).toBe(false));
  await fireEvent.click(button(c, "dns-apply"));
  await fireEvent.click(button(c, "confirm-action"));
}

afterEach(cleanup);

describe("DNS cutover page", () => {
  beforeEach(() => {
    fake.reset();
    for (const name of Object.keys(fake.calls)) delete fake.calls[name];
  });

  it("shows where the names point, the red readiness item and why Apply waits", async () => {
    const c = await lookedUp();
    expect(c.querySelector("[data-testid='dns-answers'] tr[data-name='example.com'] [data-col='authoritative']")!.textContent).toContain(
      "A 192.0.2.1 · TTL 3600",
    );
    expect(c.querySelector("li[data-item='ttl'][data-ok='no']")).not.toBeNull();
    expect(q(c, "dns-apply-gate")!.textContent).toContain("Current TTL");
    expect(button(c, "dns-apply").disabled).toBe(true);
    expect(q(c, "dns-no-saved")).not.toBeNull();
  });

  it("shows an apply conflict with its request id and the hint to review the new plan; a later apply verifies", async () => {
    fake.answers.dnsApply = () => fake.fail("conflict", "The records changed since the plan was made.", { request_id: "req-77" });
    const c = await lookedUp();
    await fireEvent.click(q(c, "dns-override")!);
    await applyConfirmed(c);
    await waitFor(() => expect(q(c, "dns-apply-error")).not.toBeNull());
    const box = q(c, "dns-apply-error")!;
    expect(box.getAttribute("data-code")).toBe("conflict");
    expect(box.textContent).toContain("The records changed since the plan was made.");
    expect(box.textContent).toContain("made again from the records as they are now");
    expect(box.textContent).toContain("req-77");
    // Forced by the override, with no rehearsal made; not protected, so nothing typed.
    expect(fake.calls.dnsApply[0].slice(2)).toEqual([false, null, true, null]);
    // No Retry of a confirmed write.
    expect(box.querySelector("[data-testid='dns-apply-retry']")).toBeNull();
    expect(q(c, "dns-apply-result")).toBeNull();

    fake.answers.dnsApply = () => fake.ok({ applied: [], rollback_file: "/state/example.com.json" });
    fake.answers.dnsSavedRollback = () => fake.ok(fake.saved);
    await applyConfirmed(c);
    await waitFor(() => expect(q(c, "dns-verify-result")?.textContent).toContain("DNS verified"));
    expect(q(c, "dns-apply-error")).toBeNull();
    expect(q(c, "dns-apply-result")!.textContent).toContain("0 changes");
    await waitFor(() => expect(c.querySelector("[data-step='apply']")!.getAttribute("data-step-state")).toBe("done"));
    expect(q(c, "dns-saved")!.textContent).toContain("example.com A 192.0.2.1");
  });

  it("re-checks readiness when core refuses for red items, so the override is offered", async () => {
    fake.answers.dnsReadiness = () => fake.ok([{ id: "ttl", ok: true, reason: "TTL 300 s", safe_at: null }]);
    fake.answers.dnsApply = () => fake.fail("not_ready", "Not applied: 1 readiness item(s) are not green (certificates).");
    const c = await lookedUp();
    expect(q(c, "dns-override")).toBeNull();
    fake.answers.dnsReadiness = () => fake.ok([{ id: "certificates", ok: false, reason: "web-3 serves another certificate", safe_at: null }]);
    await applyConfirmed(c);
    await waitFor(() => expect(q(c, "dns-apply-error")?.getAttribute("data-code")).toBe("not_ready"));
    expect(q(c, "dns-apply-error")!.textContent).toContain("tick the override");
    await waitFor(() => expect(q(c, "dns-override")).not.toBeNull());
    expect(fake.calls.dnsReadiness).toHaveLength(2);
  });

  it("rolls back and says how many API changes it made", async () => {
    fake.answers.dnsSavedRollback = () => fake.ok(fake.saved);
    const c = await lookedUp();
    await waitFor(() => expect(q(c, "dns-saved")).not.toBeNull());
    fake.answers.dnsSavedRollback = () => fake.ok(null);
    await fireEvent.click(button(c, "dns-rollback"));
    await fireEvent.click(button(c, "confirm-action"));
    await waitFor(() => expect(q(c, "dns-rollback-note")?.textContent).toContain("Restored the saved records (1 API change)"));
    await waitFor(() => expect(q(c, "dns-no-saved")).not.toBeNull());
  });

  it("shows a proxied name, the renewal warning, the CAA fix record, and a verify whose proxied names are unconfirmed, not failed", async () => {
    const proxied = "proxied by Cloudflare: cannot confirm the origin";
    const www = {
      name: "www.example.com",
      authoritative: [{ kind: "A", data: "104.21.3.4", ttl: 300 }],
      authoritative_error: null,
      system: [],
      system_error: null,
      points_to_lb: false,
      proxied,
    };
    fake.answers.dnsStatus = () =>
      fake.ok({
        domain: "example.com",
        lb_ip: "203.0.113.9",
        hosted_at_digitalocean: true,
        nameservers: ["ns1.digitalocean.com"],
        names: [
          { name: "example.com", authoritative: [], authoritative_error: null, system: [], system_error: null, points_to_lb: false, proxied: null },
          www,
        ],
        records: [],
      });
    fake.answers.dnsReadiness = () =>
      fake.ok([
        { id: "ttl", ok: true, reason: "TTL 300 s", safe_at: null },
        { id: "lets_encrypt_zone", ok: true, reason: "example.com is a DigitalOcean zone", safe_at: null },
        {
          id: "caa",
          ok: false,
          reason: 'CAA records for example.com allow only digicert.com: Let\'s Encrypt cannot issue or renew it. Add the record example.com. CAA 0 issue "letsencrypt.org" (or remove the CAA records)',
          safe_at: null,
        },
        { id: "lets_encrypt_renewal", ok: true, reason: "Warning: the droplets serve 2 different Let's Encrypt certificates. Renew on one host", safe_at: null },
      ]);
    fake.answers.dnsVerify = () =>
      fake.ok({
        dns_ok: true,
        attempts: 1,
        names: [www],
        https: null,
        https_skipped: "no HTTPS rule",
        unconfirmed: ["www.example.com"],
        message: "the nameservers answer 203.0.113.9 where they can be seen",
      });
    const c = await lookedUp();
    await waitFor(() => expect(q(c, "dns-proxied")).not.toBeNull());
    // The proxied row: neither "yes" nor "not yet"; the other row is a plain "not yet".
    const row = c.querySelector("[data-testid='dns-answers'] tr[data-name='www.example.com']")!;
    expect(row.querySelector("[data-testid='dns-proxied']")!.textContent).toBe("Proxied by Cloudflare — cannot confirm the origin");
    expect(row.querySelector("[data-testid='dns-points']")).toBeNull();
    expect(c.querySelector("tr[data-name='example.com'] [data-testid='dns-points']")!.textContent).toBe("not yet");

    // The renewal item is amber with its text, not a tick; the red CAA item offers its record to copy.
    await waitFor(() => expect(q(c, "readiness-warning")).not.toBeNull());
    const warn = q(c, "readiness-warning")!;
    expect(warn.getAttribute("data-item")).toBe("lets_encrypt_renewal");
    expect(warn.className).toContain("warn");
    expect(warn.textContent).toContain("different Let's Encrypt certificates");
    expect(warn.querySelector(".mark")!.textContent).not.toBe("✓");
    expect(c.querySelector("li[data-item='caa'][data-ok='no']")).not.toBeNull();
    expect(q(c, "dns-caa-fix")!.textContent).toBe('example.com. CAA 0 issue "letsencrypt.org"');
    expect(c.querySelector("li[data-item='lets_encrypt_zone'] [data-testid='dns-caa-fix']")).toBeNull();
    expect(q(c, "dns-readiness-summary")!.textContent).toContain("warning: Let's Encrypt renewals on the droplets");

    // Verify: the proxied name listed as unconfirmed, and the step done (not failed) because of it.
    await fireEvent.click(q(c, "dns-override")!);
    await applyConfirmed(c);
    await waitFor(() => expect(q(c, "dns-unconfirmed")).not.toBeNull());
    expect(q(c, "dns-unconfirmed")!.querySelector("li[data-name='www.example.com']")!.textContent).toContain(
      "Proxied by Cloudflare — cannot confirm the origin",
    );
    expect(q(c, "dns-verify-result")!.textContent).toContain("DNS verified where visible (1 unconfirmed)");
    await waitFor(() => expect(c.querySelector("[data-step='apply']")!.getAttribute("data-step-state")).toBe("done"));
  });

  it("offers Retry when where-it-points fails on the network, and the retry fills it in", async () => {
    fake.answers.dnsStatus = () => fake.fail("network", "Could not reach the DigitalOcean API: connection reset");
    const c = await lookedUp();
    await waitFor(() => expect(q(c, "dns-status-error")).not.toBeNull());
    expect(q(c, "dns-status-error")!.textContent).toContain("Check the network connection, then retry.");
    fake.reset();
    await fireEvent.click(button(c, "dns-status-retry"));
    await waitFor(() => expect(q(c, "dns-answers")).not.toBeNull());
    expect(q(c, "dns-status-error")).toBeNull();
  });
});
