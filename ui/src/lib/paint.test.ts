import { describe, expect, it } from "vitest";
import { batchPerFrame } from "./paint";

describe("batchPerFrame", () => {
  it("hands over everything that arrived between two frames at once, in order", () => {
    const frames: (() => void)[] = [];
    const applied: number[][] = [];
    const batch = batchPerFrame<number>((items) => applied.push(items), (run) => frames.push(run));
    for (let i = 1; i <= 200; i++) batch.push(i);
    expect(frames).toHaveLength(1);
    expect(applied).toEqual([]);
    frames.shift()!();
    expect(applied).toHaveLength(1);
    expect(applied[0]).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    batch.push(201);
    batch.push(202);
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(applied[1]).toEqual([201, 202]);
  });

  it("a cancelled batch hands over nothing, even what was already waiting for its frame", () => {
    const frames: (() => void)[] = [];
    const applied: number[][] = [];
    const batch = batchPerFrame<number>((items) => applied.push(items), (run) => frames.push(run));
    batch.push(1);
    batch.cancel();
    batch.push(2);
    frames.forEach((run) => run());
    expect(applied).toEqual([]);
  });
});
