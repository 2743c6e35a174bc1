import { describe, expect, it } from "vitest";
import type { ErrorCode } from "./bindings";
import { CommandError } from "./ipc";
import { namedLike, needsRelist, relistVerdict } from "./lbcreate";

const fail = (code: string) => new CommandError({ code: code as ErrorCode, message: "It failed.", details: null });

describe("a create that may have gone through", () => {
  it("re-lists only for maybe_applied", () => {
    expect(needsRelist(fail("maybe_applied"))).toBe(true);
    for (const code of ["network", "server", "timeout", "validation", "busy"]) expect(needsRelist(fail(code)), code).toBe(false);
    expect(needsRelist(new Error("boom"))).toBe(false);
    expect(needsRelist(null)).toBe(false);
    expect(needsRelist({ code: "maybe_applied", message: "raw" })).toBe(true);
  });

  it("finds the load balancers with the submitted name, exactly", () => {
    const lbs = [
      { id: "1", name: "shop" },
      { id: "2", name: "shop-2" },
      { id: "3", name: "Shop" },
      { id: "4", name: "shop" },
    ];
    expect(namedLike(lbs, "shop").map((l) => l.id)).toEqual(["1", "4"]);
    expect(namedLike(lbs, "  shop-2 ").map((l) => l.id)).toEqual(["2"]);
    expect(namedLike(lbs, "blog")).toEqual([]);
    expect(namedLike(lbs, "  ")).toEqual([]);
  });

  it("says it was probably created when one is there, and calls Retry what it is", () => {
    const one = relistVerdict("e2e-new", [{}]);
    expect(one.exists).toBe(true);
    expect(one.sentence).toBe("A load balancer named e2e-new exists now: it was probably created.");
    expect(one.retryLabel).toBe("Create another anyway");
    expect(relistVerdict("e2e-new", [{}, {}]).sentence).toMatch(/^2 load balancers named e2e-new exist now/);
    const none = relistVerdict("e2e-new", []);
    expect(none.exists).toBe(false);
    expect(none.sentence).toMatch(/No load balancer named e2e-new is listed/);
    expect(none.retryLabel).toBe("Retry");
  });
});
