// The Activity view behind a mocked IPC: every journal entry (load balancers and DNS), the kind
// and subject filters, and Revert opening the editor on the entry's "before".
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// @ts-expect-error: the file has no declarations of its own (they are the `svelte` module's).
vi.mock("svelte", async () => await import("../../node_modules/svelte/src/index-client.js"));

import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { tick } from "svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import Activity from "./Activity.svelte";

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  Element.prototype.scrollIntoView ??= () => {};
  // jsdom lays nothing out: the windowed table's box gets a height so its rows render.
  Object.defineProperty(Element.prototype, "clientHeight", {
    configurable: true,
    get() {
      return (this as Element).classList.contains("vt-scroll") ? 600 : 0;
    },
  });
});
afterEach(() => {
  cleanup();
  clearMocks();
});

async function settle(rounds = 6) {
  for (let i = 0; i < rounds; i++) {
    await tick();
    await new Promise((r) => setTimeout(r, 0));
  }
}

const entry = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  at: "2026-03-01T12:34:56Z",
  account: "prod",
  kind: "update",
  lbId: "lb-1",
  lbName: "web",
  before: { name: "web", enable_proxy_protocol: false },
  after: { name: "web", enable_proxy_protocol: true },
  changes: [{ path: "enable_proxy_protocol", before: false, after: true }],
  status: "done",
  error: null,
  domain: null,
  requestId: null,
  ...over,
});

const journal = () => [
  entry("e4", {
    kind: "dns_apply",
    lbId: "",
    lbName: "192.0.2.9",
    domain: "example.com",
    changes: [{ path: "www.example.com A", before: { data: "192.0.2.1" }, after: { data: "192.0.2.9" } }],
  }),
  entry("e3"),
  entry("e2", { kind: "delete", lbId: "lb-2", lbName: "old", changes: [] }),
];

const lb = { id: "lb-1", name: "web", status: "active", forwarding_rules: [], enable_proxy_protocol: true, droplet_ids: [], tag: "" };
const edit = {
  name: "web",
  sizeUnit: 1,
  forwardingRules: [],
  healthCheck: null,
  stickySessions: null,
  redirectHttpToHttps: false,
  enableProxyProtocol: false,
  enableBackendKeepalive: false,
  httpIdleTimeoutSeconds: 60,
  firewall: null,
  dropletIds: [],
  tag: "",
};

describe("Activity", () => {
  it("lists every change, filters them, and opens a revert in the editor", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "lb_history") return journal();
      if (cmd === "begin_lb_revert") return { lb, edit };
      if (cmd === "validate_lb_edit") return [];
      if (cmd === "lb_create_options") return { regions: [], vpcs: [], droplets: [], tags: [] };
      return null;
    });
    const { container } = render(Activity);
    await settle();
    const rows = () => Array.from(container.querySelectorAll<HTMLElement>("[data-testid='activity-row']"));
    expect(rows().map((r) => r.dataset.subject)).toEqual(["example.com", "web", "old"]);
    // The DNS change and the delete cannot be reverted by an edit; the update can.
    expect(rows()[0].querySelector("[data-testid='activity-revert-button']")).toBeNull();
    expect(rows()[1].querySelector("[data-testid='activity-revert-button']")).not.toBeNull();

    const kind = container.querySelector<HTMLSelectElement>("[data-testid='activity-kind']")!;
    kind.value = "dns_apply";
    await fireEvent.change(kind);
    await settle();
    expect(rows().map((r) => r.dataset.entry)).toEqual(["e4"]);
    kind.value = "all";
    await fireEvent.change(kind);
    const subject = container.querySelector<HTMLSelectElement>("[data-testid='activity-subject']")!;
    subject.value = "old";
    await fireEvent.change(subject);
    await settle();
    expect(rows().map((r) => r.dataset.entry)).toEqual(["e2"]);
    subject.value = "";
    await fireEvent.change(subject);
    await settle();

    await fireEvent.click(rows()[1].querySelector("[data-testid='activity-revert-button']")!);
    await settle();
    expect(calls).toContain("begin_lb_revert");
    expect(container.querySelector("[data-testid='activity-revert']")).not.toBeNull();
  });
});
