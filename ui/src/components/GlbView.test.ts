// The global load balancer view over a fake command: regional load balancers by priority with
// their droplets, domains with status and reasons, and a big fleet windowed.
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const droplet = (id: number, name: string) => ({ id, name, status: "active", publicIpv4: [`203.0.113.${id % 250}`], privateIpv4: [], tags: [], region: "ams3" });
  const target = (id: string, name: string, region: string, priority: number, droplets: unknown[]) => ({
    id, name, region, status: "active", ip: "", priority, droplets, missingDropletIds: [], tlsRule: "https 443 → https 443 (passthrough)", kubernetes: null,
  });
  let fleet = 2;
  const tree = () => ({
    lb: { id: "glb", name: "shop-global", type: "GLOBAL" },
    settings: { target_protocol: "http", target_port: 80, cdn: { is_enabled: false }, failover_threshold: 50 },
    domains: [
      { name: "world.test", status: "ACTIVE", isManaged: true, certificateId: "c", certificateName: "world-le", errors: [], dnsNote: "" },
      { name: "partner.test", status: "CREATING", isManaged: false, certificateId: null, certificateName: null, errors: ["no CNAME"], dnsNote: "" },
    ],
    // Listed second-priority first: the view orders them.
    targets: [
      target("b", "shop-ams3", "ams3", 2, Array.from({ length: fleet }, (_, i) => droplet(100 + i, `ams-${i}`))),
      target("a", "shop-nyc3", "nyc3", 1, [droplet(1, "web-1")]),
    ],
    missingTargetIds: [],
  });
  const commands = {
    glbTree: () => Promise.resolve({ status: "ok", data: tree() }),
  };
  return { commands, setFleet: (n: number) => (fleet = n) };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: {} }));
vi.mock("@tauri-apps/api/core", () => ({ Channel: class { onmessage: unknown = null } }));

// jsdom has no layout observers: the windowed list then renders its first screenful.
if (!("ResizeObserver" in globalThis)) {
  (globalThis as Record<string, unknown>).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}

const { default: GlbView } = await import("./GlbView.svelte");

afterEach(cleanup);

describe("GlbView", () => {
  it("shows the regional load balancers by priority, their droplets and the domains", async () => {
    fake.setFleet(2);
    const { container: c } = render(GlbView, { id: "glb" });
    await waitFor(() => expect(c.querySelectorAll("[data-testid='glb-target']").length).toBe(2));
    const names = [...c.querySelectorAll<HTMLElement>("[data-testid='glb-target']")].map((t) => t.dataset.lb);
    expect(names).toEqual(["shop-nyc3", "shop-ams3"]);
    expect(c.querySelectorAll("[data-testid='glb-droplet']").length).toBe(3);
    const partner = c.querySelector("tr[data-domain='partner.test']")!;
    expect(partner.textContent).toContain("no CNAME");
    expect(partner.querySelector(".badge.warn")).not.toBeNull();
    expect(c.querySelector("tr[data-domain='world.test']")!.textContent).toContain("managed by DigitalOcean");
  });

  it("windows a big fleet", async () => {
    fake.setFleet(500);
    const { container: c } = render(GlbView, { id: "glb" });
    await waitFor(() => expect(c.querySelector("[data-testid='glb-target'][data-lb='shop-ams3']")).not.toBeNull());
    const rows = c.querySelectorAll("[data-testid='glb-target'][data-lb='shop-ams3'] [data-testid='glb-droplet']").length;
    expect(rows).toBeLessThan(500);
  });
});
