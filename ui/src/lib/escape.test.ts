import { describe, expect, it } from "vitest";
import { EscapeStack, escapeKeydown } from "./escape";

describe("EscapeStack", () => {
  it("closes the newest first, then the ones below", () => {
    const stack = new EscapeStack();
    const closed: string[] = [];
    const offDetail = stack.push(() => void closed.push("detail"));
    const offEditor = stack.push(() => void closed.push("editor"));
    expect(stack.escape()).toBe(true);
    expect(closed).toEqual(["editor"]);
    offEditor();
    expect(stack.escape()).toBe(true);
    expect(closed).toEqual(["editor", "detail"]);
    offDetail();
    expect(stack.escape()).toBe(false);
  });

  it("closes one layer only, even when a handler returns false", () => {
    // `() => (open = false)` returns false: that must not let Esc close the layer below too.
    const stack = new EscapeStack();
    const closed: string[] = [];
    stack.push(() => void closed.push("detail"));
    let dialogOpen = true;
    stack.push(() => (dialogOpen = false));
    expect(stack.escape()).toBe(true);
    expect(dialogOpen).toBe(false);
    expect(closed).toEqual([]);
  });

  it("removes only its own handler, even out of order", () => {
    const stack = new EscapeStack();
    const closed: string[] = [];
    const offA = stack.push(() => void closed.push("a"));
    stack.push(() => void closed.push("b"));
    offA();
    offA();
    expect(stack.size).toBe(1);
    stack.escape();
    expect(closed).toEqual(["b"]);
  });

  it("consumes the key event only when something closed", () => {
    const stack = new EscapeStack();
    const empty = new KeyboardEvent("keydown", { key: "Escape", cancelable: true });
    expect(escapeKeydown(empty, stack)).toBe(false);
    expect(empty.defaultPrevented).toBe(false);
    stack.push(() => undefined);
    const esc = new KeyboardEvent("keydown", { key: "Escape", cancelable: true });
    expect(escapeKeydown(esc, stack)).toBe(true);
    expect(esc.defaultPrevented).toBe(true);
    const other = new KeyboardEvent("keydown", { key: "r", cancelable: true });
    expect(escapeKeydown(other, stack)).toBe(false);
  });
});
