// The load balancer's History tab and Export behind a mocked IPC: the journal's rows, Revert
// opening the editor on the entry's "before" (and the list refreshed after the apply), and the
// exported text.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// @ts-expect-error: the file has no declarations of its own (they are the `svelte` module's).
vi.mock("svelte", async () => await import("../../node_modules/svelte/src/index-client.js"));

import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { tick } from "svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import LbDetail from "./LbDetail.svelte";
import { localTime } from "../lib/history";

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  // The editor scrolls its review into view; jsdom has no scrolling.
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

const lb = (over: Record<string, unknown> = {}) => ({
  id: "lb-1",
  name: "web",
  ip: "10.0.0.1",
  status: "active",
  created_at: "2026-01-01T00:00:00Z",
  forwarding_rules: [],
  redirect_http_to_https: false,
  enable_proxy_protocol: true,
  enable_backend_keepalive: false,
  disable_lets_encrypt_dns_records: false,
  region: { slug: "ams3", name: "Amsterdam 3" },
  size_unit: 1,
  droplet_ids: [1, 2],
  tag: "",
  ...over,
});

const detail = () => ({ lb: lb(), droplets: [], missingDropletIds: [], rawJson: '{"id":"lb-1"}', kubernetes: null, notes: [] });

const edit = (over: Record<string, unknown> = {}) => ({
  name: "web",
  sizeUnit: 1,
  forwardingRules: [],
  healthCheck: null,
  stickySessions: null,
  redirectHttpToHttps: false,
  enableProxyProtocol: true,
  enableBackendKeepalive: false,
  httpIdleTimeoutSeconds: 60,
  firewall: null,
  dropletIds: [1, 2],
  tag: "",
  ...over,
});

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
  ...over,
});

const journal = () => [
  entry("e3", { requestId: "7f3c2a10-0000-4000-8000-000000000003" }),
  entry("e2", {
    kind: "add_droplets",
    account: "staging",
    at: "2026-02-01T08:00:00Z",
    status: "failed",
    error: "Droplet 9 is in another region (request abc)",
    after: null,
    changes: [{ path: "droplet_ids", before: [1, 2], after: [1, 2, 9] }],
  }),
  entry("e1", { kind: "create", before: null, changes: [], at: "2026-01-01T00:00:00Z" }),
];

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

const noop = () => {};

async function openTab(tab: string, answers: Record<string, (args: Record<string, unknown>) => unknown>) {
  const calls = serve({ load_balancer_detail: () => detail(), ...answers });
  const view = render(LbDetail, { id: "lb-1", onclose: noop, ondeleted: noop, onchanged: noop });
  await settle();
  await fireEvent.click(view.container.querySelector(`[data-tab='${tab}']`)!);
  await settle();
  return { calls, ...view };
}

describe("the History tab", () => {
  it("sits before Raw JSON, which stays last", async () => {
    serve({ load_balancer_detail: () => detail() });
    const { container } = render(LbDetail, { id: "lb-1", onclose: noop, ondeleted: noop, onchanged: noop });
    await settle();
    const tabs = Array.from(container.querySelectorAll<HTMLButtonElement>("[role='tab']")).map((b) => b.dataset.tab);
    expect(tabs.slice(-2)).toEqual(["history", "raw"]);
  });

  it("lists the journal's entries for this load balancer, newest first, with time, kind, account, fields and status", async () => {
    const { calls, getByTestId, getAllByTestId } = await openTab("history", { lb_history: () => journal() });
    expect(calls.filter((c) => c.cmd === "lb_history")).toEqual([{ cmd: "lb_history", args: { id: "lb-1" } }]);
    expect(getByTestId("lb-history")).toBeTruthy();
    expect(getByTestId("history-count").textContent).toContain("3 changes");

    const rows = getAllByTestId("history-row");
    expect(rows.map((r) => [r.dataset.entry, r.dataset.kind, r.dataset.status])).toEqual([
      ["e3", "update", "done"],
      ["e2", "add_droplets", "failed"],
      ["e1", "create", "done"],
    ]);
    const text = (row: HTMLElement, id: string) => row.querySelector(`[data-testid='${id}']`)?.textContent?.trim();
    expect(text(rows[0], "history-time")).toBe(localTime("2026-03-01T12:34:56Z"));
    expect(text(rows[0], "history-kind")).toBe("Edit");
    expect(text(rows[0], "history-account")).toBe("prod");
    expect(text(rows[0], "history-summary")).toBe("enable_proxy_protocol: false → true");
    expect(text(rows[0], "history-status")).toBe("Done");
    // A failed change shows its error; a create has no field list.
    expect(text(rows[1], "history-status")).toBe("Failed");
    expect(text(rows[1], "history-error-text")).toBe("Droplet 9 is in another region (request abc)");
    expect(text(rows[2], "history-summary")).toBe("Created");

    // Revert only where an edit can undo it: not on the create, not on the failure.
    expect(rows.map((r) => !!r.querySelector("[data-testid='history-revert']"))).toEqual([true, false, false]);

    // Expanding a row shows its field diff.
    expect(rows[0].querySelector("[data-testid='history-diff']")).toBeNull();
    const toggle = rows[0].querySelector<HTMLButtonElement>("[data-testid='history-toggle']")!;
    await fireEvent.click(toggle);
    await settle();
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    const diff = getAllByTestId("history-row")[0].querySelector("[data-testid='history-diff']")!;
    const cells = Array.from(diff.querySelectorAll("tbody tr[data-path='enable_proxy_protocol'] td")).map((td) => td.textContent);
    expect(cells).toEqual(["enable_proxy_protocol", "false", "true"]);
    // With DigitalOcean's request id of the write (what its support asks for).
    expect(getAllByTestId("history-row")[0].querySelector("[data-testid='history-request-id']")!.textContent).toBe(
      "DigitalOcean request 7f3c2a10-0000-4000-8000-000000000003",
    );
  });

  it("says so when nothing is recorded, and shows an error through the error box", async () => {
    const empty = await openTab("history", { lb_history: () => [] });
    expect(empty.getByTestId("history-empty")).toBeTruthy();
    cleanup();
    clearMocks();
    const failing = await openTab("history", {
      lb_history: () => {
        throw { code: "io", message: "The journal could not be read.", details: null };
      },
    });
    expect(failing.getByTestId("history-error").textContent).toContain("The journal could not be read.");
  });

  it("Revert opens the editor with the entry's edit; after the apply the list is read again", async () => {
    let history = journal();
    const { calls, getByTestId, getAllByTestId, queryByTestId, container } = await openTab("history", {
      lb_history: () => history,
      begin_lb_revert: () => ({ lb: lb(), edit: edit({ enableProxyProtocol: false, name: "web-before" }) }),
      begin_lb_edit: () => ({ lb: lb({ enable_proxy_protocol: false, name: "web-before" }), edit: edit({ enableProxyProtocol: false, name: "web-before" }) }),
      validate_lb_edit: () => [],
      plan_lb_edit: () => ({
        changes: [{ path: "enable_proxy_protocol", before: true, after: false }],
        findings: [],
        dryRun: { outcome: "ok" },
        canApply: true,
        kubernetes: null,
        annotations: [],
        preflight: null,
      }),
      apply_lb_edit: () => lb({ enable_proxy_protocol: false, name: "web-before" }),
    });

    await fireEvent.click(getAllByTestId("history-row")[0].querySelector("[data-testid='history-revert']")!);
    await settle();
    expect(calls.filter((c) => c.cmd === "begin_lb_revert")).toEqual([{ cmd: "begin_lb_revert", args: { entry: "e3" } }]);
    // The editor is open on the revert's session, not a fresh one.
    expect(getByTestId("lb-editor")).toBeTruthy();
    expect(calls.some((c) => c.cmd === "begin_lb_edit")).toBe(false);
    expect(getByTestId("revert-note").textContent).toContain(`the change of ${localTime("2026-03-01T12:34:56Z")} (Edit)`);
    expect((getByTestId("edit-name") as HTMLInputElement).value).toBe("web-before");
    expect((getByTestId("edit-proxy") as HTMLInputElement).checked).toBe(false);
    expect(queryByTestId("lb-history")).toBeNull();

    // Reviewed and applied as any edit: what is applied is the entry's before.
    await fireEvent.click(getByTestId("review"));
    await settle();
    expect(getByTestId("diff").querySelector("tr[data-path='enable_proxy_protocol']")).toBeTruthy();
    history = [entry("e4", { changes: [{ path: "enable_proxy_protocol", before: true, after: false }] }), ...journal()];
    await fireEvent.click(getByTestId("apply"));
    await settle();
    const apply = calls.find((c) => c.cmd === "apply_lb_edit")!;
    expect(apply.args).toMatchObject({ id: "lb-1", edit: { name: "web-before", enableProxyProtocol: false } });
    expect(getByTestId("applied")).toBeTruthy();

    // Closing the editor brings the History tab back, read again with the new entry.
    await fireEvent.click(Array.from(container.querySelectorAll<HTMLButtonElement>("[data-testid='lb-editor'] button")).find((b) => b.textContent === "Close")!);
    await settle();
    expect(calls.filter((c) => c.cmd === "lb_history")).toHaveLength(2);
    expect(getAllByTestId("history-row").map((r) => r.dataset.entry)).toEqual(["e4", "e3", "e2", "e1"]);
  });

  it("shows why a revert could not open", async () => {
    const { getByTestId, getAllByTestId, queryByTestId } = await openTab("history", {
      lb_history: () => journal(),
      begin_lb_revert: () => {
        throw { code: "not_found", message: "The load balancer is gone.", details: null };
      },
    });
    await fireEvent.click(getAllByTestId("history-revert")[0]);
    await settle();
    expect(queryByTestId("lb-editor")).toBeNull();
    expect(getByTestId("history-revert-error").textContent).toContain("The load balancer is gone.");
  });
});

describe("Export", () => {
  it("shows the load balancer in the chosen format, to copy", async () => {
    const texts: Record<string, string> = {
      json: '{\n  "name": "web"\n}',
      doctl: "doctl compute load-balancer create --name web --region ams3",
      terraform: 'resource "digitalocean_loadbalancer" "web" {\n  name = "web"\n}',
    };
    const { calls, getByTestId } = await openTab("raw", { export_load_balancer: (args) => texts[args.format as string] });
    // The raw JSON is still there.
    expect(getByTestId("raw-json").textContent).toBe('{"id":"lb-1"}');
    expect(getByTestId("lb-export")).toBeTruthy();

    const select = getByTestId("lb-export-format") as HTMLSelectElement;
    select.value = "doctl";
    await fireEvent.change(select);
    await fireEvent.click(getByTestId("lb-export-run"));
    await settle();
    expect(calls.filter((c) => c.cmd === "export_load_balancer")).toEqual([
      { cmd: "export_load_balancer", args: { id: "lb-1", format: "doctl" } },
    ]);
    const pre = getByTestId("lb-export-text");
    expect(pre.tagName).toBe("PRE");
    expect(pre.textContent).toBe(texts.doctl);
    expect(getByTestId("lb-export-text-copy")).toBeTruthy();

    select.value = "terraform";
    await fireEvent.change(select);
    await fireEvent.click(getByTestId("lb-export-run"));
    await settle();
    expect(getByTestId("lb-export-text").textContent).toBe(texts.terraform);
  });

  it("shows an error through the error box", async () => {
    const { getByTestId, queryByTestId } = await openTab("raw", {
      export_load_balancer: () => {
        throw { code: "not_found", message: "No load balancer lb-1.", details: null };
      },
    });
    await fireEvent.click(getByTestId("lb-export-run"));
    await settle();
    expect(getByTestId("lb-export-error").textContent).toContain("No load balancer lb-1.");
    expect(queryByTestId("lb-export-text")).toBeNull();
  });
});
