import { describe, expect, it } from "vitest";
import { normDomain } from "./domain";

describe("normDomain", () => {
  it("trims, drops the trailing dot and lower-cases", () => {
    expect(normDomain("  Shop.Example.COM. ")).toBe("shop.example.com");
    expect(normDomain("*.Example.com")).toBe("*.example.com");
  });

  it("leaves an already normal name and the empty string alone", () => {
    expect(normDomain("example.com")).toBe("example.com");
    expect(normDomain("")).toBe("");
    expect(normDomain(" . ")).toBe("");
  });
});
