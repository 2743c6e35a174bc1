// The Replace panel behind a mocked IPC: the start form sends only the fixed fields that change,
// a plan kept from earlier is resumed, and the old load balancer is deleted only with its name typed.
import { afterEach, describe, expect, it, vi } from "vitest";

// @ts-expect-error: the file has no declarations of its own (they are the `svelte` module's).
vi.mock("svelte", async () => await import("../../node_modules/svelte/src/index-client.js"));

import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { tick } from "svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import ReplaceFlow from "./ReplaceFlow.svelte";

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

const lb = {
  id: "lb-1",
  name: "web",
  ip: "192.0.2.1",
  status: "active",
  network_stack: "IPV4",
  region: { slug: "nyc3", name: "New York 3" },
  forwarding_rules: [],
} as never;

const IDS = ["copy", "dry_run", "create", "active", "certificates", "rehearsal", "dns", "verify", "wait", "delete_old"];

const plan = (at: string, status: string, over: Record<string, unknown> = {}) => ({
  oldId: "lb-1",
  oldName: "web",
  oldIp: "192.0.2.1",
  account: "Sandbox",
  startedAt: "2026-12-06T06:00:00Z",
  fixed: { region: null, vpcUuid: null, lbType: null, network: null, networkStack: "DUALSTACK" },
  differences: ["network_stack: IPV4 → DUALSTACK"],
  request: { name: "web-new" },
  newId: "lb-2",
  newIp: "192.0.2.9",
  newIpv6: null,
  domain: "example.com",
  names: [],
  waitSecs: 0,
  verifiedAt: null,
  finished: false,
  steps: IDS.map((id, j) => ({
    id,
    status: j < IDS.indexOf(at) ? "done" : id === at ? status : "pending",
    message: id === at ? `${id} says` : "",
    at: null,
  })),
  ...over,
});

type Calls = { cmd: string; args: Record<string, unknown> }[];

function serve(answers: Record<string, (args: Record<string, unknown>) => unknown>): Calls {
  const calls: Calls = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: args as Record<string, unknown> });
    const answer = answers[cmd];
    if (!answer) throw new Error(`no mock for ${cmd}`);
    return answer(args as Record<string, unknown>);
  });
  return calls;
}

describe("ReplaceFlow", () => {
  it("starts with only the changed fixed field and runs the steps", async () => {
    const calls = serve({
      replace_list: () => [],
      replace_start: () => plan("dry_run", "pending"),
      replace_advance: () => plan("dns", "blocked"),
    });
    const { container } = render(ReplaceFlow, { lb, onclose: () => {} });
    await settle();
    const startButton = container.querySelector<HTMLButtonElement>("[data-testid='replace-start']")!;
    expect(startButton.disabled).toBe(true);
    const stack = container.querySelector<HTMLSelectElement>("[data-testid='replace-network-stack']")!;
    stack.value = "DUALSTACK";
    await fireEvent.change(stack);
    await settle();
    expect(startButton.disabled).toBe(false);
    await fireEvent.click(startButton);
    await settle();
    const start = calls.find((c) => c.cmd === "replace_start")!;
    expect(start.args.id).toBe("lb-1");
    expect((start.args.input as { fixed: Record<string, unknown> }).fixed).toEqual({
      region: null,
      networkStack: "DUALSTACK",
      network: null,
      lbType: null,
      vpcUuid: null,
    });
    expect(calls.some((c) => c.cmd === "replace_advance")).toBe(true);
    const dns = container.querySelector("[data-step='dns']")!;
    expect(dns.getAttribute("data-status")).toBe("blocked");
    // The DNS change needs the domain typed.
    const apply = container.querySelector<HTMLButtonElement>("[data-testid='replace-dns-apply']")!;
    expect(apply.disabled).toBe(true);
  });

  it("resumes a kept plan and deletes the old one only with its name typed", async () => {
    const calls = serve({
      replace_list: () => [plan("delete_old", "blocked")],
      replace_advance: () => plan("delete_old", "done", { finished: true }),
    });
    const finished = vi.fn();
    const { container } = render(ReplaceFlow, { lb, onclose: () => {}, onfinished: finished });
    await settle();
    expect(container.querySelector("[data-testid='replace-form']")).toBeNull();
    expect(container.querySelectorAll("[data-testid='replace-step']").length).toBe(10);
    const del = container.querySelector<HTMLButtonElement>("[data-testid='replace-delete-old']")!;
    expect(del.disabled).toBe(true);
    const typed = container.querySelector<HTMLInputElement>("[data-testid='replace-delete-confirm']")!;
    await fireEvent.input(typed, { target: { value: "we" } });
    expect(del.disabled).toBe(true);
    await fireEvent.input(typed, { target: { value: "web" } });
    await settle();
    expect(del.disabled).toBe(false);
    await fireEvent.click(del);
    await settle();
    const adv = calls.find((c) => c.cmd === "replace_advance")!;
    expect((adv.args.decision as Record<string, unknown>).deleteConfirm).toBe("web");
    expect(container.querySelector("[data-testid='replace-finished']")).not.toBeNull();
    expect(finished).toHaveBeenCalled();
  });
});
