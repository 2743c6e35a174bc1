import { describe, expect, it } from "vitest";
import { deepEqual, mergeById, mergeByKey } from "./merge";

type Lb = { id: string; name: string; status: string; droplet_ids: number[]; region: { slug: string } | null };

const lb = (id: string, extra: Partial<Lb> = {}): Lb => ({
  id,
  name: `lb-${id}`,
  status: "active",
  droplet_ids: [1, 2],
  region: { slug: "ams3" },
  ...extra,
});

// What the IPC gives on every refresh: new objects, equal content.
const again = <T>(list: T[]): T[] => JSON.parse(JSON.stringify(list));

describe("deepEqual", () => {
  it("compares JSON-like values structurally", () => {
    expect(deepEqual(lb("a"), lb("a"))).toBe(true);
    expect(deepEqual(lb("a"), lb("a", { droplet_ids: [1] }))).toBe(false);
    expect(deepEqual(lb("a"), lb("a", { region: null }))).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(deepEqual(NaN, NaN)).toBe(true);
    expect(deepEqual(null, {})).toBe(false);
  });
});

describe("mergeById", () => {
  const current = [lb("a"), lb("b"), lb("c")];

  it("returns the same array when nothing changed", () => {
    const merged = mergeById(current, again(current));
    expect(merged).toBe(current);
  });

  it("keeps the identity of unchanged objects and replaces exactly the changed one", () => {
    const fresh = again(current);
    fresh[1].status = "errored";
    const merged = mergeById(current, fresh);
    expect(merged).not.toBe(current);
    expect(merged[0]).toBe(current[0]);
    expect(merged[1]).toBe(fresh[1]);
    expect(merged[1].status).toBe("errored");
    expect(merged[2]).toBe(current[2]);
    expect(merged.filter((x, i) => x !== current[i])).toHaveLength(1);
  });

  it("a change deep inside (a droplet added) is a change", () => {
    const fresh = again(current);
    fresh[2].droplet_ids.push(3);
    const merged = mergeById(current, fresh);
    expect(merged[2]).toBe(fresh[2]);
    expect(merged[0]).toBe(current[0]);
  });

  it("drops removed objects and adds new ones, keeping the rest", () => {
    const fresh = [...again(current).filter((x) => x.id !== "b"), lb("d")];
    const merged = mergeById(current, fresh);
    expect(merged.map((x) => x.id)).toEqual(["a", "c", "d"]);
    expect(merged[0]).toBe(current[0]);
    expect(merged[1]).toBe(current[2]);
    expect(merged[2]).toBe(fresh[2]);
  });

  it("follows the fresh order, keeping identities", () => {
    const fresh = again(current).reverse();
    const merged = mergeById(current, fresh);
    expect(merged).not.toBe(current);
    expect(merged).toEqual([current[2], current[1], current[0]]);
    expect(merged[0]).toBe(current[2]);
    expect(merged[2]).toBe(current[0]);
  });

  it("a removal at the end or an empty answer is seen", () => {
    expect(mergeById(current, again(current).slice(0, 2))).toEqual(current.slice(0, 2));
    expect(mergeById(current, [])).toEqual([]);
    expect(mergeById([], [])).toHaveLength(0);
  });

  it("never mutates its inputs", () => {
    const before = again(current);
    const fresh = again(current);
    fresh[0].name = "renamed";
    mergeById(current, fresh);
    expect(current).toEqual(before);
  });

  it("takes a cheaper comparison when one is given", () => {
    const a = [{ k: 1, v: "x", at: 1 }];
    const merged = mergeByKey(a, [{ k: 1, v: "x", at: 2 }], (x) => x.k, (p, n) => p.v === n.v);
    expect(merged).toBe(a);
  });

  it("1,000 unchanged load balancers: same array, quickly", () => {
    const big = Array.from({ length: 1000 }, (_, i) => lb(String(i)));
    const fresh = again(big);
    const t0 = performance.now();
    const merged = mergeById(big, fresh);
    const ms = performance.now() - t0;
    expect(merged).toBe(big);
    // Generous (CI machines); on this machine it is a couple of milliseconds.
    expect(ms).toBeLessThan(100);
  });
});
