import { describe, expect, it } from "vitest";
import { CachedLoad } from "./cached.svelte";

// A fetch the test answers by hand, on a clock the test moves.
function setup(maxAgeMs = 1000) {
  let clock = 0;
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  const cache = new CachedLoad<string>(
    () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject })),
    maxAgeMs,
    () => clock,
  );
  return {
    cache,
    pending,
    advance: (ms: number) => (clock += ms),
  };
}

describe("CachedLoad", () => {
  it("fetches once per account while the result is young, again when it is old", async () => {
    const t = setup(1000);
    const first = t.cache.load("acct");
    expect(t.cache.loading).toBe(true);
    t.pending[0].resolve("one");
    await first;
    expect(t.cache.value).toBe("one");
    expect(t.cache.loadedAt).toBe(0);
    expect(t.cache.loading).toBe(false);

    t.advance(999);
    await t.cache.load("acct");
    expect(t.pending).toHaveLength(1);

    t.advance(1);
    const again = t.cache.load("acct");
    expect(t.pending).toHaveLength(2);
    // The old result stays on screen while the new one comes.
    expect(t.cache.value).toBe("one");
    t.pending[1].resolve("two");
    await again;
    expect(t.cache.value).toBe("two");
    expect(t.cache.loadedAt).toBe(1000);
  });

  it("does not start a second fetch while one is on its way, unless forced", async () => {
    const t = setup();
    void t.cache.load("acct");
    void t.cache.load("acct");
    expect(t.pending).toHaveLength(1);
    void t.cache.load("acct", true);
    expect(t.pending).toHaveLength(2);
  });

  it("forgets the old account's result and ignores its late answer", async () => {
    const t = setup();
    const old = t.cache.load("a");
    t.pending[0].resolve("a-result");
    await old;
    const slow = t.cache.load("a", true);
    const other = t.cache.load("b");
    expect(t.cache.value).toBeNull();
    t.pending[2].resolve("b-result");
    await other;
    t.pending[1].resolve("a-late");
    await slow;
    expect(t.cache.value).toBe("b-result");
    expect(t.cache.loading).toBe(false);
  });

  it("shows a failure and fetches again on the next load", async () => {
    const t = setup();
    const failing = t.cache.load("acct");
    t.pending[0].reject(new Error("droplet unreachable"));
    await failing;
    expect(t.cache.error).toBe("droplet unreachable");
    expect(t.cache.loading).toBe(false);
    const retry = t.cache.load("acct");
    expect(t.pending).toHaveLength(2);
    expect(t.cache.error).toBeNull();
    t.pending[1].resolve("ok");
    await retry;
    expect(t.cache.value).toBe("ok");
  });
});
