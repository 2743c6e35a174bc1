import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render } from "@testing-library/svelte";
import { createRawSnippet } from "svelte";
import ErrorBox from "./ErrorBox.svelte";
import { CommandError } from "../lib/ipc";
import { nav } from "../lib/nav.svelte";
import type { ErrorCode } from "../lib/bindings";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fail = (code: string, message: string, details: unknown = null) =>
  new CommandError({ code: code as ErrorCode, message, details });

afterEach(cleanup);

describe("ErrorBox", () => {
  it("shows nothing without an error", () => {
    const { container } = render(ErrorBox, { error: null });
    expect(container.querySelector(".error-box")).toBeNull();
  });

  it("shows the message, the hint, the request id and the code", () => {
    const { container } = render(ErrorBox, {
      error: fail("network", "Could not reach the DigitalOcean API: reset", { request_id: "req-9" }),
      testid: "dns-plan-error",
    });
    const box = container.querySelector("[data-testid='dns-plan-error']")!;
    expect(box.classList.contains("error-box")).toBe(true);
    expect(box.getAttribute("role")).toBe("alert");
    expect(box.getAttribute("data-code")).toBe("network");
    expect(box.textContent).toContain("Could not reach the DigitalOcean API: reset");
    expect(box.querySelector("[data-testid='dns-plan-hint']")!.textContent).toBe("Check the network connection, then retry.");
    expect(box.querySelector(".request-id")!.textContent).toContain("req-9");
    // No onRetry given: no button.
    expect(box.querySelector("button")).toBeNull();
  });

  it("shows a sentence as it is, with no code", () => {
    const { container } = render(ErrorBox, { error: "The JSON does not parse: Unexpected end.", testid: "reh-error" });
    const box = container.querySelector("[data-testid='reh-error']")!;
    expect(box.getAttribute("data-code")).toBe("");
    expect(box.textContent).toContain("The JSON does not parse");
  });

  it("offers Retry for busy under the test id the journeys click, without repeating the message", async () => {
    const onRetry = vi.fn();
    const { container } = render(ErrorBox, {
      error: fail("busy", "DigitalOcean is still applying the previous change — try again in a moment."),
      testid: "apply-error",
      onRetry,
      retryTestid: "retry",
      onReload: () => {},
    });
    const box = container.querySelector("[data-testid='apply-error'][data-code='busy']")!;
    expect(box.querySelector(".hint")).toBeNull();
    await fireEvent.click(container.querySelector("[data-testid='retry']")!);
    expect(onRetry).toHaveBeenCalledOnce();
  });

  it("offers Reload, not Retry, for a conflict, below what the caller adds", async () => {
    const onReload = vi.fn();
    const children = createRawSnippet(() => ({
      render: () => `<table data-testid="conflict-changes"><tbody><tr><td>http_idle_timeout_seconds</td></tr></tbody></table>`,
    }));
    const { container } = render(ErrorBox, {
      error: fail("conflict", "Changed since it was loaded."),
      testid: "apply-error",
      onRetry: () => {},
      onReload,
      reloadTestid: "conflict-reload",
      actionLabel: "Reload, keeping my changes",
      children,
    });
    expect(container.querySelector("[data-testid='conflict-changes']")!.textContent).toContain("http_idle_timeout_seconds");
    expect(container.querySelectorAll("button")).toHaveLength(1);
    const reload = container.querySelector("[data-testid='conflict-reload']")!;
    expect(reload.textContent).toBe("Reload, keeping my changes");
    await fireEvent.click(reload);
    expect(onReload).toHaveBeenCalledOnce();
  });

  it("sends an unauthorized error to Accounts, and offers no button once there", async () => {
    nav.view = "dns";
    const { container } = render(ErrorBox, { error: fail("unauthorized", "DigitalOcean rejected the token."), testid: "x-error" });
    const go = container.querySelector<HTMLButtonElement>("[data-testid='x-accounts']")!;
    expect(go.textContent).toBe("Go to Accounts");
    await fireEvent.click(go);
    expect(nav.view).toBe("accounts");
    expect(container.querySelector("[data-testid='x-accounts']")).toBeNull();
  });
});
