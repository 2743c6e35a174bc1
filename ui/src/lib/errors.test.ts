import { describe, expect, it } from "vitest";
import type { ErrorCode } from "./bindings";
import { describeError, errorAction, errorButton, errorCode, errorHint, humanDuration } from "./errors";
import { CommandError } from "./ipc";

const fail = (code: string, message = "It failed.", details: unknown = null) =>
  new CommandError({ code: code as ErrorCode, message, details });

describe("the error table", () => {
  it("offers Retry for busy, network and server errors", () => {
    for (const code of ["busy", "network", "server", "timeout"]) {
      expect(errorAction(code), code).toEqual({ kind: "retry", label: "Retry" });
    }
  });

  it("offers Reload for a conflict and a vanished resource", () => {
    expect(errorAction("conflict")).toEqual({ kind: "reload", label: "Reload" });
    expect(errorAction("not_found").kind).toBe("reload");
  });

  it("sends token problems to Accounts, with the hint that says so", () => {
    expect(errorAction("unauthorized")).toEqual({ kind: "accounts", label: "Go to Accounts" });
    expect(errorHint("unauthorized")).toBe("Replace the token in Accounts.");
    expect(errorAction("forbidden").kind).toBe("accounts");
  });

  it("asks to wait when rate limited, for as long as the API said when it said", () => {
    expect(errorAction("rate_limited")).toEqual({ kind: "wait", label: "" });
    expect(errorHint("rate_limited")).not.toMatch(/minute/);
    expect(errorHint("rate_limited")).toMatch(/then try again/);
    expect(errorHint("rate_limited", { retry_after_seconds: 30 })).toBe("Wait 30 s, then try again.");
    // The same wait the Rust message names ("try again in 3 h 20 min"), not "a minute".
    expect(errorHint("rate_limited", { retry_after_seconds: 12_000 })).toBe("Wait 3 h 20 min, then try again.");
    expect(errorHint("rate_limited", { retry_after_seconds: 0 })).not.toMatch(/minute|0 s/);
  });

  it("has a maybe-applied change checked before a retry", () => {
    expect(errorHint("maybe_applied")).toBe("The change may have been made: check the list before retrying.");
    expect(errorAction("maybe_applied")).toEqual({ kind: "reload", label: "Reload list" });
  });

  it("knows every code Rust sends today", () => {
    const codes: ErrorCode[] = [
      "invalid_input", "unauthorized", "forbidden", "busy", "not_found", "validation", "conflict",
      "rate_limited", "server", "network", "keychain", "address_unavailable", "io", "internal",
      "not_ready", "maybe_applied", "timeout", "decode", "managed_by_kubernetes",
    ];
    for (const code of codes) expect(errorAction(code).kind, code).toBeTruthy();
    expect(errorHint("address_unavailable")).toMatch(/another listen port/);
  });

  it("sends a Kubernetes-owned load balancer's change to the Service's annotations", () => {
    expect(errorHint("managed_by_kubernetes")).toBe(
      "A Kubernetes cluster owns this load balancer: set the Service's annotations instead",
    );
    expect(errorAction("managed_by_kubernetes")).toEqual({ kind: "none", label: "" });
  });

  it("says a wait the way the Rust messages do", () => {
    expect(humanDuration(5)).toBe("5 s");
    expect(humanDuration(60)).toBe("1 min");
    expect(humanDuration(125)).toBe("2 min 5 s");
    expect(humanDuration(12_000)).toBe("3 h 20 min");
    expect(humanDuration(3_600)).toBe("1 h");
    expect(humanDuration(93_600)).toBe("1 d 2 h");
  });

  it("says how to get past a red readiness check", () => {
    expect(errorHint("not_ready")).toMatch(/override/);
    expect(errorAction("not_ready").kind).toBe("none");
  });

  it("takes an unknown code gracefully: no hint, no action", () => {
    expect(errorHint("brand_new_code")).toBeNull();
    expect(errorAction("brand_new_code")).toEqual({ kind: "none", label: "" });
    // Names of Object.prototype are not table entries.
    expect(errorAction("toString")).toEqual({ kind: "none", label: "" });
    expect(errorHint(null)).toBeNull();
  });
});

describe("describeError", () => {
  it("keeps a command error's message, code and request id apart", () => {
    const info = describeError(fail("busy", "Still applying.", { request_id: "req-42", status: 403 }));
    expect(info.message).toBe("Still applying.");
    expect(info.code).toBe("busy");
    expect(info.requestId).toBe("req-42");
    expect(info.hint).toMatch(/retry in a moment/);
    expect(info.action.kind).toBe("retry");
  });

  it("leaves out a hint the message already gives", () => {
    const info = describeError(
      fail("unauthorized", "DigitalOcean rejected the token: it may be revoked, expired or mistyped. Replace it in Accounts."),
    );
    expect(info.hint).toBeNull();
    expect(info.action.kind).toBe("accounts");
    expect(describeError(fail("unauthorized", "DigitalOcean rejected the token.")).hint).toBe("Replace the token in Accounts.");
    const limited = { retry_after_seconds: 5 };
    expect(describeError(fail("rate_limited", "DigitalOcean's rate limit is reached: try again in 5 s.", limited)).hint).toBeNull();
    expect(describeError(fail("rate_limited", "DigitalOcean's rate limit is reached.", limited)).hint).toBe("Wait 5 s, then try again.");
    const maybe = "POST /v2/load_balancers: reset; the request may have been applied: check before retrying";
    expect(describeError(fail("maybe_applied", maybe)).hint).toBeNull();
    expect(describeError(fail("maybe_applied", maybe)).action.label).toBe("Reload list");
  });

  it("reads a raw { code, message, details } error too", () => {
    const info = describeError({ code: "conflict", message: "Changed meanwhile.", details: { request_id: "r1" } });
    expect(info).toMatchObject({ code: "conflict", message: "Changed meanwhile.", requestId: "r1" });
    expect(info.action.kind).toBe("reload");
  });

  it("shows plain errors and strings as they are, with no code", () => {
    expect(describeError(new Error("boom"))).toMatchObject({ message: "boom", code: null, requestId: null, hint: null });
    expect(describeError("The JSON does not parse.")).toMatchObject({ message: "The JSON does not parse.", code: null });
    expect(describeError(42).message).toBe("42");
    expect(errorCode("busy")).toBeNull();
  });

  it("ignores a request id that is not a string", () => {
    expect(describeError(fail("server", "Oops.", { request_id: 7 })).requestId).toBeNull();
    expect(describeError(fail("server", "Oops.", "not an object")).requestId).toBeNull();
  });
});

describe("errorButton", () => {
  const all = { retry: true, reload: true, accounts: true };

  it("names the button after the box", () => {
    expect(errorButton("busy", { can: all, testid: "droplets-error" })).toEqual({
      kind: "retry",
      label: "Retry",
      testid: "droplets-retry",
    });
    expect(errorButton("conflict", { can: all, testid: "dns-apply-error" })?.testid).toBe("dns-apply-reload");
    expect(errorButton("network", { can: all })?.testid).toBe("retry");
    expect(errorButton("busy", { can: all, testid: "apply-error", retryTestid: "retry" })?.testid).toBe("retry");
  });

  it("offers only what the caller can do", () => {
    expect(errorButton("busy", { can: { ...all, retry: false } })).toBeNull();
    expect(errorButton("conflict", { can: { ...all, reload: false } })).toBeNull();
    // Not a Retry instead of a Reload: a conflict retried would fail again.
    expect(errorButton("conflict", { can: { retry: true, reload: false, accounts: true } })).toBeNull();
    expect(errorButton("unauthorized", { can: { ...all, accounts: false } })).toBeNull();
  });

  it("offers nothing for a wait, a code without an action, or an unknown code", () => {
    expect(errorButton("rate_limited", { can: all })).toBeNull();
    expect(errorButton("validation", { can: all })).toBeNull();
    expect(errorButton("something_new", { can: all })).toBeNull();
    expect(errorButton(null, { can: all })).toBeNull();
  });

  it("takes another text", () => {
    expect(errorButton("conflict", { can: all, label: "Reload, keeping my changes" })?.label).toBe("Reload, keeping my changes");
    expect(errorButton("maybe_applied", { can: all })?.label).toBe("Reload list");
    expect(errorButton("unauthorized", { can: all })).toEqual({ kind: "accounts", label: "Go to Accounts", testid: "accounts" });
  });
});
