// The Let's Encrypt record warning in the editor's review, and the flag it offers: "Keep DNS as
// it is" turns disable_lets_encrypt_dns_records on and reviews again (fake commands).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  const lb = {
    id: "lb-blog",
    name: "blog-https",
    ip: "203.0.113.7",
    status: "active",
    created_at: "2026-01-01T00:00:00Z",
    forwarding_rules: [{ entry_protocol: "https", entry_port: 443, target_protocol: "http", target_port: 80, certificate_id: "le-1", tls_passthrough: false }],
    redirect_http_to_https: true,
    enable_proxy_protocol: false,
    enable_backend_keepalive: false,
    disable_lets_encrypt_dns_records: false,
    region: { slug: "nyc3", name: "New York 3" },
    size_unit: 1,
    droplet_ids: [1],
    tag: "",
  };
  const edit = {
    name: lb.name,
    sizeUnit: 1,
    forwardingRules: lb.forwarding_rules,
    healthCheck: null,
    stickySessions: null,
    redirectHttpToHttps: true,
    enableProxyProtocol: false,
    enableBackendKeepalive: false,
    httpIdleTimeoutSeconds: 60,
    firewall: null,
    disableLetsEncryptDnsRecords: false,
    dropletIds: [1],
    tag: "",
  };
  const warning = {
    code: "lets_encrypt.dns_record",
    field: "forwarding_rules",
    severity: "warning",
    message: 'Let\'s Encrypt certificate "blog-le" is attached with disable_lets_encrypt_dns_records off: DigitalOcean will point an A record for blog.example.test at this load balancer (203.0.113.7) — a DNS cutover.',
    pre_existing: false,
  };
  const calls: unknown[][] = [];
  const answers: Record<string, (...args: unknown[]) => Promise<unknown>> = {
    beginLbEdit: () => ok({ lb, edit }),
    validateLbEdit: () => ok([]),
    planLbEdit: (...args: unknown[]) => {
      calls.push(args);
      const sent = args[1] as { disableLetsEncryptDnsRecords: boolean };
      return ok({
        changes: [{ path: "http_idle_timeout_seconds", before: 60, after: 120 }],
        findings: sent.disableLetsEncryptDnsRecords ? [] : [warning],
        dryRun: { outcome: "ok" },
        canApply: true,
        kubernetes: null,
        annotations: [],
      });
    },
  };
  const commands = new Proxy({} as Record<string, (...args: unknown[]) => Promise<unknown>>, {
    get: (_, name: string) => (...args: unknown[]) => answers[name](...args),
  });
  return { commands, calls };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: {} }));
vi.mock("@tauri-apps/api/core", () => ({ Channel: class { onmessage: unknown = null } }));

(window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};
Element.prototype.scrollIntoView = () => {};

const { default: LbEditor } = await import("./LbEditor.svelte");
const q = (c: HTMLElement, id: string) => c.querySelector<HTMLElement>(`[data-testid='${id}']`);

afterEach(cleanup);
beforeEach(() => {
  fake.calls.length = 0;
});

describe("the Let's Encrypt record warning", () => {
  it("offers the flag; taking it reviews again with the flag on and the warning gone", async () => {
    const { container: c } = render(LbEditor, { id: "lb-blog", onclose: () => {}, onapplied: () => {} });
    await waitFor(() => expect(q(c, "edit-name")).not.toBeNull());
    expect((q(c, "edit-disable-le-dns") as HTMLInputElement).checked).toBe(false);
    await fireEvent.click(q(c, "review")!);
    await waitFor(() => expect(q(c, "review-finding")).not.toBeNull());
    expect(q(c, "review-finding")!.textContent).toContain("blog-le");
    await fireEvent.click(q(c, "keep-dns")!);
    await waitFor(() => expect(fake.calls.length).toBe(2));
    expect((fake.calls[1][1] as { disableLetsEncryptDnsRecords: boolean }).disableLetsEncryptDnsRecords).toBe(true);
    await waitFor(() => expect(q(c, "review-finding")).toBeNull());
    expect((q(c, "edit-disable-le-dns") as HTMLInputElement).checked).toBe(true);
  });
});
