import { describe, expect, it } from "vitest";
import { isBuiltInSandbox, status } from "./status.svelte";

describe("the SANDBOX badge", () => {
  it("belongs to the built-in Sandbox", () => {
    status.account = { name: "Sandbox", sandbox: true, colour: null };
    expect(status.account?.sandbox).toBe(true);
  });

  it("not to an added account whose API is on 127.0.0.1 (a standalone Sandbox or a proxy)", () => {
    // What lib/accounts passes today: the connection kind, `sandbox` for a loopback Sandbox.
    status.account = { name: "staging", sandbox: true, colour: "#f00" };
    expect(status.account).toEqual({ name: "staging", sandbox: false, colour: "#f00" });
    status.account = { name: "local-proxy", sandbox: false };
    expect(status.account?.sandbox).toBe(false);
  });

  it("not to a DigitalOcean account", () => {
    status.account = { name: "production", sandbox: false };
    expect(status.account?.sandbox).toBe(false);
    status.account = null;
    expect(status.account).toBeNull();
  });

  it("isBuiltInSandbox reads an account summary", () => {
    expect(isBuiltInSandbox({ name: "Sandbox", kind: "sandbox" })).toBe(true);
    expect(isBuiltInSandbox({ name: "staging", kind: "sandbox" })).toBe(false);
    expect(isBuiltInSandbox({ name: "Sandbox", kind: "digital_ocean" })).toBe(false);
  });

  it("the other fields stay plain settable state", () => {
    status.rateLimit = { remaining: 1, limit: 2 };
    status.balancer = { listen: "127.0.0.1:8080" };
    expect(status.rateLimit).toEqual({ remaining: 1, limit: 2 });
    expect(status.balancer?.listen).toBe("127.0.0.1:8080");
  });
});
