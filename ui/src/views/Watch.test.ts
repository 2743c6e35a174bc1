// The Watch view over fake commands: a watched site needing attention, its expiry timeline and
// history, Add, Run now and Remove, under the test ids the WebDriver journeys use.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  const fail = (code: string, message: string, details: unknown = null) =>
    Promise.resolve({ status: "error", error: { code, message, details } });
  const finding = (code: string, backend: string | null, severity: string, attention: boolean) => ({
    code,
    backend,
    severity,
    message: `${code} on ${backend ?? "the site"}`,
    attention,
  });
  const backend = (label: string, days: number) => ({
    label,
    address: "127.0.0.1:1",
    sha256: label,
    not_after: "2027-01-01T00:00:00Z",
    not_after_unix: 0,
    days_left: days,
    severity: days < 7 ? "error" : null,
  });
  const site = {
    lb_id: "lb1",
    lb_name: "shop-passthrough",
    domain: "sandbox-shop.test",
    added_at: "2026-12-01T00:00:00Z",
    account: "staging",
    dns_seen_at_lb: [],
    last: {
      lb_id: "lb1",
      domain: "sandbox-shop.test",
      checked_at: "2026-12-06T03:00:00Z",
      checked_at_unix: 1_000,
      findings: [
        finding("fleet.fingerprint_mismatch", "web-3", "error", true),
        finding("dns.not_at_lb", null, "warning", false),
      ],
      backends: [backend("web-1", 90), backend("web-2", 90), backend("web-3", 3)],
      lb_ip: "127.0.2.1",
      dns: [{ name: "sandbox-shop.test", points_to_lb: false, answers: ["A 127.0.0.11"], error: null }],
      summary: "2 of 3 backends serve certificate A",
    },
  };
  const episode = (code: string, cleared: boolean) => ({
    lb_id: "lb1",
    domain: "sandbox-shop.test",
    code,
    backend: "web-3",
    severity: "error",
    message: code,
    appeared_at: "2026-12-05T00:00:00Z",
    appeared_at_unix: 500,
    cleared_at: cleared ? "2026-12-05T06:00:00Z" : null,
    cleared_at_unix: cleared ? 600 : null,
  });
  const state = () => ({
    format: 1,
    sites: [site],
    runs: [{ at: "2026-12-06T03:00:00Z", at_unix: 1_000, sites: 1, attention: 1, appeared: 1, cleared: 0 }],
    episodes: [episode("cert.expiring_soon", true), episode("fleet.fingerprint_mismatch", false)],
  });
  const answers: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  const reset = () => {
    Object.assign(answers, {
      watchList: () => ok(state()),
      checkSources: () => ok([{ id: "lb1", name: "shop-passthrough", passthrough: true, proxyProtocol: false, domains: ["sandbox-shop.test"], certificates: [] }]),
      watchAdd: () => ok(site),
      watchRemove: () => ok(site),
      watchRunNow: () =>
        ok({
          at: "2026-12-06T04:00:00Z",
          at_unix: 2_000,
          sites: [site.last],
          appeared: [{ lb_id: "lb1", lb_name: "shop-passthrough", domain: "sandbox-shop.test", finding: finding("cert.expiring_soon", "web-3", "error", true) }],
          cleared: [],
          needs_attention: true,
          new_attention: true,
        }),
    });
  };
  const calls: Record<string, unknown[][]> = {};
  const commands = new Proxy({} as Record<string, (...args: unknown[]) => Promise<unknown>>, {
    get:
      (_, name: string) =>
      (...args: unknown[]) => {
        (calls[name] ??= []).push(args);
        return answers[name](...args);
      },
  });
  const events = { watchRunMsg: { listen: () => Promise.resolve(() => {}) } };
  return { ok, fail, answers, reset, commands, calls, events };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: fake.events }));

(window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};

const { default: Watch } = await import("./Watch.svelte");

const q = (c: HTMLElement, sel: string) => c.querySelector<HTMLElement>(sel);

async function shown() {
  const { container } = render(Watch);
  await waitFor(() => expect(q(container, "[data-testid='watch-site']")).not.toBeNull());
  return container;
}

afterEach(cleanup);

describe("Watch view", () => {
  beforeEach(() => {
    fake.reset();
    for (const name of Object.keys(fake.calls)) delete fake.calls[name];
  });

  it("shows a site needing attention, its findings, expiry timeline, DNS and history", async () => {
    const c = await shown();
    const site = q(c, "[data-testid='watch-site']")!;
    expect(site.dataset.state).toBe("attention");
    expect(site.textContent).toContain("needs attention");
    expect(site.textContent).toContain("account staging");
    expect(q(site, "[data-code='fleet.fingerprint_mismatch'][data-backend='web-3']")).not.toBeNull();
    const web3 = q(site, "[data-testid='watch-expiry'] [data-backend='web-3']")!;
    expect(web3.textContent).toContain("3 days");
    expect(q(web3, ".bar.err")).not.toBeNull();
    expect(q(site, "[data-testid='watch-expiry'] [data-backend='web-1'] .bar.ok")).not.toBeNull();
    expect(q(site, "[data-testid='watch-dns'] li[data-at-lb='no']")).not.toBeNull();
    const rows = Array.from(site.querySelectorAll<HTMLElement>("[data-testid='watch-history'] tbody tr"));
    expect(rows.map((r) => [r.dataset.code, r.dataset.open])).toEqual([
      ["fleet.fingerprint_mismatch", "yes"],
      ["cert.expiring_soon", "no"],
    ]);
    expect(q(c, "[data-testid='watch-last-run']")!.textContent).toContain("2026-12-06T03:00:00Z");
  });

  it("runs now and shows what is new", async () => {
    const c = await shown();
    await fireEvent.click(q(c, "[data-testid='watch-run-now']")!);
    await waitFor(() => expect(q(c, "[data-testid='watch-run-news']")).not.toBeNull());
    expect(q(c, "[data-news='appeared']")!.textContent).toContain("cert.expiring_soon");
    expect(fake.calls.watchRunNow).toHaveLength(1);
  });

  it("adds a site by load balancer and domain, and shows a refusal", async () => {
    const c = await shown();
    const lb = q(c, "[data-testid='watch-add-lb']") as HTMLInputElement;
    const domain = q(c, "[data-testid='watch-add-domain']") as HTMLInputElement;
    await fireEvent.input(lb, { target: { value: "shop-passthrough" } });
    await fireEvent.input(domain, { target: { value: "https://Sandbox-Shop.test/" } });
    await fireEvent.submit(q(c, "[data-testid='watch-add-form']")!);
    await waitFor(() => expect(fake.calls.watchAdd).toHaveLength(1));
    expect(fake.calls.watchAdd[0]).toEqual(["lb1", "sandbox-shop.test"]);

    fake.answers.watchAdd = () => fake.fail("not_found", "No load balancer is called nope.");
    await fireEvent.input(lb, { target: { value: "nope" } });
    await fireEvent.input(domain, { target: { value: "x.test" } });
    await fireEvent.submit(q(c, "[data-testid='watch-add-form']")!);
    await waitFor(() => expect(q(c, "[data-testid='watch-add-error']")).not.toBeNull());
    expect(q(c, "[data-testid='watch-add-error']")!.textContent).toContain("No load balancer is called nope.");
  });

  it("removes a site after confirming", async () => {
    const c = await shown();
    await fireEvent.click(q(c, "[data-testid='watch-remove']")!);
    await fireEvent.click(q(c, "[data-testid='confirm-action']")!);
    await waitFor(() => expect(fake.calls.watchRemove).toEqual([["lb1"]]));
  });

  it("says when nothing is watched", async () => {
    fake.answers.watchList = () => fake.ok({ format: 1, sites: [], runs: [], episodes: [] });
    const { container } = render(Watch);
    await waitFor(() => expect(q(container, "[data-testid='watch-empty']")).not.toBeNull());
    expect((q(container, "[data-testid='watch-run-now']") as HTMLButtonElement).disabled).toBe(true);
  });
});
