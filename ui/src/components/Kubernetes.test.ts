// The Kubernetes-owned load balancer in the editor, the detail and the delete dialog, and a
// create that may have gone through, over fake commands (the test ids the journeys use).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  const fail = (code: string, message: string, details: unknown = null) =>
    Promise.resolve({ status: "error", error: { code, message, details } });
  const CLUSTER = "0a1b2c3d-0000-4000-8000-000000000001";
  const owner = { clusterId: CLUSTER, signals: [`tagged k8s:${CLUSTER}`, "every rule targets a NodePort (30000–32767)"], kubectl: "kubectl get svc -A | grep lb-k8s" };
  const lb = {
    id: "lb-k8s",
    name: "a0123456789abcdef0123456789abcde",
    ip: "203.0.113.5",
    status: "active",
    created_at: "2026-01-01T00:00:00Z",
    forwarding_rules: [{ entry_protocol: "tcp", entry_port: 443, target_protocol: "tcp", target_port: 31443, tls_passthrough: false }],
    redirect_http_to_https: false,
    enable_proxy_protocol: false,
    enable_backend_keepalive: false,
    disable_lets_encrypt_dns_records: false,
    region: { slug: "ams3", name: "Amsterdam 3" },
    size_unit: 1,
    droplet_ids: [1],
    tag: "",
  };
  const edit = {
    name: lb.name,
    sizeUnit: 1,
    forwardingRules: lb.forwarding_rules,
    healthCheck: { protocol: "http", port: 10256, path: "/healthz" },
    stickySessions: null,
    redirectHttpToHttps: false,
    enableProxyProtocol: false,
    enableBackendKeepalive: false,
    httpIdleTimeoutSeconds: 60,
    firewall: null,
    dropletIds: [1],
    tag: "",
  };
  const annotations = [{ key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", value: "true" }];
  const answers: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  const reset = () => {
    Object.assign(answers, {
      beginLbEdit: () => ok({ lb, edit }),
      validateLbEdit: () => ok([]),
      planLbEdit: () =>
        ok({
          changes: [{ path: "enable_proxy_protocol", before: false, after: true }],
          findings: [],
          dryRun: { outcome: "ok" },
          canApply: true,
          kubernetes: owner,
          annotations,
        }),
      applyLbEdit: () => ok({ ...lb, enable_proxy_protocol: true }),
      loadBalancerDetail: () => ok({ lb, droplets: [], missingDropletIds: [], rawJson: "{}", kubernetes: owner }),
      deleteLoadBalancer: () =>
        fail("managed_by_kubernetes", `"${lb.name}" is managed by Kubernetes cluster ${CLUSTER}: its controller would revert this change.`, {
          owner,
          annotations: [],
          unmapped_fields: [],
        }),
      lbCreateOptions: () => ok({ regions: [{ slug: "ams3", name: "Amsterdam 3" }], vpcs: [], droplets: [], tags: [] }),
      reviewLbCreate: () => ok({ changes: [], findings: [], dryRun: { outcome: "ok" }, canApply: true, kubernetes: null, annotations: [] }),
      createLoadBalancer: () =>
        fail("maybe_applied", "POST /v2/load_balancers: reset; the request may have been applied: check before retrying.", {
          method: "POST",
          path: "/v2/load_balancers",
        }),
      listLoadBalancers: () => ok({ loadBalancers: [{ ...lb, id: "new-1", name: "shop", status: "new" }, lb], rateLimit: null, kubernetes: [] }),
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
  return { ok, fail, answers, reset, commands, calls, annotations, CLUSTER };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: {} }));
vi.mock("@tauri-apps/api/core", () => ({ Channel: class { onmessage: unknown = null } }));

(window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};
Element.prototype.scrollIntoView = () => {};

const { default: LbEditor } = await import("./LbEditor.svelte");
const { default: LbDetail } = await import("./LbDetail.svelte");
const { default: LbCreate } = await import("./LbCreate.svelte");

const q = (c: HTMLElement, id: string) => c.querySelector<HTMLElement>(`[data-testid='${id}']`);
const button = (c: HTMLElement, id: string) => c.querySelector<HTMLButtonElement>(`[data-testid='${id}']`)!;

afterEach(cleanup);
beforeEach(() => {
  fake.reset();
  for (const name of Object.keys(fake.calls)) delete fake.calls[name];
});

describe("a load balancer a Kubernetes cluster owns", () => {
  it("the review shows the annotations as YAML; Apply waits for the override and sends it", async () => {
    const { container: c } = render(LbEditor, { id: "lb-k8s", onclose: () => {}, onapplied: () => {} });
    await waitFor(() => expect(q(c, "edit-name")).not.toBeNull());
    await fireEvent.click(button(c, "review"));
    await waitFor(() => expect(q(c, "k8s-annotations")).not.toBeNull());
    expect(q(c, "k8s-annotations")!.textContent).toBe(
      'metadata:\n  annotations:\n    service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol: "true"',
    );
    expect(q(c, "k8s-review")!.textContent).toContain(`Managed by Kubernetes cluster ${fake.CLUSTER}`);
    expect(button(c, "apply").disabled).toBe(true);

    await fireEvent.click(q(c, "k8s-override")!);
    await waitFor(() => expect(button(c, "apply").disabled).toBe(false));
    await fireEvent.click(button(c, "apply"));
    await waitFor(() => expect(fake.calls.applyLbEdit?.length).toBe(1));
    expect(fake.calls.applyLbEdit[0][2]).toBe(true);
  });

  it("the detail says who owns it, with the signals and the kubectl finder", async () => {
    const { container: c } = render(LbDetail, { id: "lb-k8s", onclose: () => {}, ondeleted: () => {}, onchanged: () => {} });
    await waitFor(() => expect(q(c, "k8s-notice")).not.toBeNull());
    const notice = q(c, "k8s-notice")!.textContent!;
    expect(notice).toContain(
      `Managed by Kubernetes cluster ${fake.CLUSTER} — its controller reverts changes made here. Set the Service's annotations instead.`,
    );
    expect(notice).toContain("every rule targets a NodePort");
    expect(q(c, "k8s-kubectl")!.textContent).toBe("kubectl get svc -A | grep lb-k8s");
    expect(q(c, "k8s-kubectl-copy")).not.toBeNull();
  });

  it("delete sends the typed name and the override; refused, the error box shows why", async () => {
    const { container: c } = render(LbDetail, { id: "lb-k8s", onclose: () => {}, ondeleted: () => {}, onchanged: () => {} });
    await waitFor(() => expect(button(c, "delete").disabled).toBe(false));
    await fireEvent.click(button(c, "delete"));
    const name = "a0123456789abcdef0123456789abcde";
    await fireEvent.input(q(c, "confirm-input")!, { target: { value: name } });
    expect(q(c, "confirm-dialog")!.querySelector("[data-testid='k8s-override']")).not.toBeNull();
    await fireEvent.click(button(c, "confirm-action"));
    await waitFor(() => expect(q(c, "delete-error")).not.toBeNull());
    expect(fake.calls.deleteLoadBalancer[0]).toEqual(["lb-k8s", name, false]);
    expect(q(c, "delete-error")!.getAttribute("data-code")).toBe("managed_by_kubernetes");
    expect(q(c, "delete-error")!.textContent).toContain("set the Service's annotations instead");

    // Ticked, the override goes with the typed name.
    fake.answers.deleteLoadBalancer = () => fake.ok(null);
    await fireEvent.click(button(c, "delete"));
    await fireEvent.input(q(c, "confirm-input")!, { target: { value: name } });
    await fireEvent.click(q(c, "k8s-override")!);
    await fireEvent.click(button(c, "confirm-action"));
    await waitFor(() => expect(fake.calls.deleteLoadBalancer.length).toBe(2));
    expect(fake.calls.deleteLoadBalancer[1]).toEqual(["lb-k8s", name, true]);
  });
});

describe("a create that may have gone through", () => {
  it("lists again and shows the load balancer with that name before offering Retry", async () => {
    const { container: c } = render(LbCreate, { onclose: () => {}, oncreated: () => {} });
    await waitFor(() => expect(c.querySelector("select[data-testid='create-region'] option[value='ams3']")).not.toBeNull());
    await fireEvent.input(q(c, "create-name")!, { target: { value: "shop" } });
    await fireEvent.click(button(c, "create-review"));
    await waitFor(() => expect(button(c, "create-submit").disabled).toBe(false));
    await fireEvent.click(button(c, "create-submit"));
    await waitFor(() => expect(q(c, "create-maybe-verdict")).not.toBeNull());
    expect(fake.calls.listLoadBalancers.length).toBe(1);
    expect(q(c, "create-maybe-verdict")!.textContent).toBe("A load balancer named shop exists now: it was probably created.");
    expect(q(c, "create-maybe-applied")!.querySelectorAll("li[data-lb='shop']").length).toBe(1);
    expect(button(c, "create-retry").textContent).toBe("Create another anyway");
    expect(q(c, "create-error")!.getAttribute("data-code")).toBe("maybe_applied");
  });

  it("says nothing is there when the list has no such name, and offers a plain Retry", async () => {
    fake.answers.listLoadBalancers = () => fake.ok({ loadBalancers: [], rateLimit: null, kubernetes: [] });
    const { container: c } = render(LbCreate, { onclose: () => {}, oncreated: () => {} });
    await waitFor(() => expect(c.querySelector("select[data-testid='create-region'] option[value='ams3']")).not.toBeNull());
    await fireEvent.input(q(c, "create-name")!, { target: { value: "shop" } });
    await fireEvent.click(button(c, "create-review"));
    await waitFor(() => expect(button(c, "create-submit").disabled).toBe(false));
    await fireEvent.click(button(c, "create-submit"));
    await waitFor(() => expect(q(c, "create-maybe-verdict")).not.toBeNull());
    expect(q(c, "create-maybe-verdict")!.textContent).toMatch(/^No load balancer named shop is listed/);
    expect(button(c, "create-retry").textContent).toBe("Retry");
  });

  it("does not re-list after an ordinary failure", async () => {
    fake.answers.createLoadBalancer = () => fake.fail("validation", "The name is taken.");
    const { container: c } = render(LbCreate, { onclose: () => {}, oncreated: () => {} });
    await waitFor(() => expect(c.querySelector("select[data-testid='create-region'] option[value='ams3']")).not.toBeNull());
    await fireEvent.input(q(c, "create-name")!, { target: { value: "shop" } });
    await fireEvent.click(button(c, "create-review"));
    await waitFor(() => expect(button(c, "create-submit").disabled).toBe(false));
    await fireEvent.click(button(c, "create-submit"));
    await waitFor(() => expect(q(c, "create-error")).not.toBeNull());
    expect(fake.calls.listLoadBalancers).toBeUndefined();
    expect(q(c, "create-maybe-applied")).toBeNull();
  });
});
