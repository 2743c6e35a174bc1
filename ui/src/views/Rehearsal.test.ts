// The Rehearsal view over fake commands: its panels and error box together, under the test ids
// the WebDriver journeys use.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

// jsdom has no canvas: uPlot is a recorder of what the live graphs are given.
const plots = vi.hoisted(() => ({ made: [] as { data: unknown[][] }[] }));
vi.mock("uplot", () => ({
  default: class {
    data: unknown[][];
    constructor(_opts: unknown, data: unknown[][]) {
      this.data = data;
      plots.made.push(this);
    }
    setData(d: unknown[][]) {
      this.data = d;
    }
    setSize() {}
    destroy() {}
  },
}));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  const fail = (code: string, message: string, details: unknown = null) =>
    Promise.resolve({ status: "error", error: { code, message, details } });
  const config = {
    listen: "127.0.0.1:8443",
    domains: ["shop.example.com"],
    backends: ["web-1", "web-2", "web-3"].map((name, i) => ({ name, addr: `10.0.0.${i + 1}:443` })),
    algorithm: "round_robin",
    healthCheck: null,
    proxyProtocol: null,
    redirectHttpListen: null,
    allowNoSni: false,
    maxConnections: 10000,
    clientHelloTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    idleTimeoutMs: 60000,
  };
  const stats = { activeConnections: 0, totalConnections: 0, relayedConnections: 0, refusedConnections: 0, bytesIn: 0, bytesOut: 0, backends: [] };
  const running = {
    run: 1,
    listen: "127.0.0.1:41234",
    redirectListen: null,
    config,
    stats,
    tryIt: { domain: "shop.example.com", curl: "curl --resolve shop.example.com:41234:127.0.0.1 https://shop.example.com:41234/", hostsLine: "127.0.0.1 shop.example.com", hostsNote: null, browser: null },
  };
  const answers: Record<string, () => Promise<unknown>> = {};
  const reset = () => {
    Object.assign(answers, {
      checkSources: () =>
        ok([
          { id: "lb1", name: "shop-passthrough", passthrough: true, proxyProtocol: false, domains: ["shop.example.com"], certificates: [] },
          { id: "lb2", name: "blog-https", passthrough: false, proxyProtocol: false, domains: [], certificates: ["blog"] },
        ]),
      rehearsalConfig: () => ok(config),
      rehearsalStatus: () => ok(null),
      startRehearsal: () => ok(running),
      stopRehearsal: () => ok(stats),
      rehearsalTestRequest: () =>
        ok({ status: 200, httpVersion: "HTTP/1.1", elapsedMs: 3.2, via: "127.0.0.1:41234", headers: [["alt-svc", 'h3=":443"']], certificate: null }),
    });
  };
  const commands = new Proxy({} as Record<string, () => Promise<unknown>>, { get: (_, name: string) => () => answers[name]() });
  const quiet = { listen: async () => () => {} };
  const events = { balancerStateMsg: quiet, balancerStatsMsg: quiet, balancerEventMsg: quiet };
  const recorded: unknown[][] = [];
  return { ok, fail, answers, reset, commands, events, recorded, config };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: fake.events }));
vi.mock("../lib/rehearsed.svelte", () => ({ recordRehearsal: (...args: unknown[]) => fake.recorded.push(args) }));

(window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};

const { default: Rehearsal } = await import("./Rehearsal.svelte");

const q = (c: HTMLElement, id: string) => c.querySelector<HTMLElement>(`[data-testid='${id}']`);
const button = (c: HTMLElement, id: string) => c.querySelector<HTMLButtonElement>(`[data-testid='${id}']`)!;

async function built() {
  const { container } = render(Rehearsal);
  await waitFor(() => expect(container.querySelector("select[data-testid='reh-lb']")!.textContent).toContain("shop-passthrough"));
  await waitFor(() => expect((q(container, "reh-domain") as HTMLInputElement).value).toBe("shop.example.com"));
  await fireEvent.click(button(container, "reh-build"));
  await waitFor(() => expect(q(container, "reh-config-summary")?.textContent).toContain("web-3"));
  return container;
}

afterEach(cleanup);

describe("Rehearsal view", () => {
  beforeEach(() => {
    fake.reset();
    fake.recorded.length = 0;
  });

  it("offers only passthrough load balancers and builds a form with one row per droplet", async () => {
    const c = await built();
    expect(c.querySelector("select[data-testid='reh-lb']")!.textContent).not.toContain("blog-https");
    expect(c.querySelectorAll("[data-testid='reh-backend-row']")).toHaveLength(3);
  });

  it("marks a bad port and keeps Start off until it is fixed", async () => {
    const c = await built();
    const port = q(c, "reh-listen-port") as HTMLInputElement;
    await fireEvent.input(port, { target: { value: "99999" } });
    await waitFor(() => expect(q(c, "reh-listen-error")?.textContent).toContain("0 to 65535"));
    expect(button(c, "reh-start").disabled).toBe(true);
    await fireEvent.input(port, { target: { value: "0" } });
    await waitFor(() => expect(button(c, "reh-start").disabled).toBe(false));
  });

  it("says when the JSON does not parse, and goes back to the form when it does", async () => {
    const c = await built();
    await fireEvent.click(button(c, "reh-json-toggle"));
    const json = c.querySelector<HTMLTextAreaElement>("textarea[data-testid='reh-config']")!;
    expect(JSON.parse(json.value).backends).toHaveLength(3);
    await fireEvent.input(json, { target: { value: '{"domains": [' } });
    await fireEvent.click(button(c, "reh-json-toggle"));
    await waitFor(() => expect(q(c, "reh-error")?.textContent).toContain("does not parse"));
    await fireEvent.input(json, { target: { value: JSON.stringify({ ...fake.config, listen: "127.0.0.1:0" }) } });
    await fireEvent.click(button(c, "reh-json-toggle"));
    await waitFor(() => expect(q(c, "reh-error")).toBeNull());
    expect((q(c, "reh-listen-port") as HTMLInputElement).value).toBe("0");
  });

  it("shows a taken port with the hint to pick another; then starts, tests, stops", async () => {
    fake.answers.startRehearsal = () => fake.fail("address_unavailable", "Could not listen on 127.0.0.1:8443: address in use");
    const c = await built();
    await fireEvent.click(button(c, "reh-start"));
    await waitFor(() => expect(q(c, "reh-error")?.getAttribute("data-code")).toBe("address_unavailable"));
    expect(q(c, "reh-error")!.textContent).toContain("Pick another listen port");

    fake.reset();
    await fireEvent.click(button(c, "reh-start"));
    await waitFor(() => expect(q(c, "reh-listen-addr")?.textContent).toBe("127.0.0.1:41234"));
    expect(q(c, "reh-error")).toBeNull();
    await fireEvent.click(button(c, "reh-test"));
    await waitFor(() => expect(q(c, "reh-test-result")?.textContent).toContain("200"));
    expect(q(c, "reh-http3-note")).not.toBeNull();
    expect(fake.recorded).toEqual([["shop.example.com", true]]);
    expect(q(c, "reh-totals")).not.toBeNull();
    expect(q(c, "reh-log")!.textContent).toContain("No connections yet");

    await fireEvent.click(button(c, "reh-stop"));
    await waitFor(() => expect(q(c, "reh-build")).not.toBeNull());
    expect(q(c, "reh-form")).not.toBeNull();
  });

  it("draws the run's connections and throughput as the stats come", async () => {
    let onStats: ((e: { payload: unknown }) => void) | null = null;
    const quiet = fake.events.balancerStatsMsg;
    fake.events.balancerStatsMsg = {
      listen: async (cb: (e: { payload: unknown }) => void) => {
        onStats = cb;
        return () => {};
      },
    } as typeof quiet;
    try {
      const c = await built();
      await fireEvent.click(button(c, "reh-start"));
      await waitFor(() => expect(q(c, "reh-graphs")?.getAttribute("data-points")).toBe("1"));
      const base = { activeConnections: 0, relayedConnections: 0, refusedConnections: 0, bytesOut: 0 };
      const backends = [{ name: "web-1", latencyLastMs: 1.5 }];
      onStats!({ payload: { run: 1, stats: { ...base, uptimeMs: 1000, totalConnections: 0, bytesIn: 0, backends } } });
      onStats!({ payload: { run: 1, stats: { ...base, uptimeMs: 2000, totalConnections: 2, bytesIn: 3000, backends } } });
      // Another run's stats are not this one's.
      onStats!({ payload: { run: 7, stats: { ...base, uptimeMs: 3000, totalConnections: 90, bytesIn: 0, backends } } });
      await waitFor(() => expect(q(c, "reh-graphs")?.getAttribute("data-points")).toBe("3"));
      const peakOf = (series: string) => c.querySelector(`[data-series='${series}']`)?.getAttribute("data-peak");
      expect(peakOf("rehearsal_connections")).toBe("2");
      expect(peakOf("rehearsal_throughput")).toBe("3000");
      expect(peakOf("rehearsal_backend_latency")).toBe("0.0015");
      // Drawn: three charts, the throughput one with the 3000 B/s point.
      await waitFor(() => expect(plots.made.length).toBeGreaterThanOrEqual(3));
      expect(plots.made.some((p) => p.data[1]?.includes(3000))).toBe(true);
    } finally {
      fake.events.balancerStatsMsg = quiet;
    }
  });

  it("records a failed test request as a failed rehearsal", async () => {
    fake.answers.rehearsalTestRequest = () => fake.fail("network", "The connection was reset");
    const c = await built();
    await fireEvent.click(button(c, "reh-start"));
    await waitFor(() => expect(q(c, "reh-test")).not.toBeNull());
    await fireEvent.click(button(c, "reh-test"));
    await waitFor(() => expect(q(c, "reh-test-error")?.textContent).toContain("The connection was reset"));
    expect(fake.recorded).toEqual([["shop.example.com", false]]);
  });
});
