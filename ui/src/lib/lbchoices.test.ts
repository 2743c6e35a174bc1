import { describe, expect, it, vi } from "vitest";
import type { LbChoice } from "./bindings";

// The module's own instance calls Tauri; these tests build their own.
vi.mock("./bindings", () => ({ commands: {} }));
const { LbChoices } = await import("./lbchoices.svelte");

const lb = (id: string, passthrough = true): LbChoice => ({
  id,
  name: `lb-${id}`,
  passthrough,
  proxyProtocol: false,
  domains: [],
  certificates: [],
});

function setup() {
  let account = "a";
  const pending: { resolve: (v: LbChoice[]) => void; reject: (e: unknown) => void }[] = [];
  const store = new LbChoices(
    () => new Promise<LbChoice[]>((resolve, reject) => pending.push({ resolve, reject })),
    () => account,
  );
  return { store, pending, switchTo: (a: string) => (account = a) };
}

describe("LbChoices", () => {
  it("fetches, and callers at the same time share the fetch", async () => {
    const t = setup();
    const first = t.store.refresh();
    const second = t.store.refresh();
    expect(t.pending).toHaveLength(1);
    expect(t.store.loading).toBe(true);
    t.pending[0].resolve([lb("1"), lb("2", false)]);
    expect(await first).toHaveLength(2);
    expect(await second).toHaveLength(2);
    expect(t.store.loading).toBe(false);
    expect(t.store.passthrough.map((c) => c.id)).toEqual(["1"]);
  });

  it("keeps the list on screen while a refresh is on its way", async () => {
    const t = setup();
    const first = t.store.refresh();
    t.pending[0].resolve([lb("1")]);
    await first;
    const again = t.store.refresh();
    expect(t.pending).toHaveLength(2);
    expect(t.store.list.map((c) => c.id)).toEqual(["1"]);
    t.pending[1].resolve([lb("1"), lb("3")]);
    await again;
    expect(t.store.list.map((c) => c.id)).toEqual(["1", "3"]);
  });

  it("forgets the old account's list and ignores its late answer", async () => {
    const t = setup();
    const old = t.store.refresh();
    t.switchTo("b");
    const fresh = t.store.refresh();
    expect(t.pending).toHaveLength(2);
    expect(t.store.list).toEqual([]);
    t.pending[1].resolve([lb("b1")]);
    await fresh;
    t.pending[0].resolve([lb("a1")]);
    expect(await old).toBeNull();
    expect(t.store.list.map((c) => c.id)).toEqual(["b1"]);
    expect(t.store.loading).toBe(false);
  });

  it("keeps a failure as thrown and fetches again on the next refresh", async () => {
    const t = setup();
    const failing = t.store.refresh();
    const boom = new Error("network");
    t.pending[0].reject(boom);
    expect(await failing).toBeNull();
    expect(t.store.error).toBe(boom);
    expect(t.store.loading).toBe(false);
    const retry = t.store.refresh();
    expect(t.pending).toHaveLength(2);
    expect(t.store.error).toBeNull();
    t.pending[1].resolve([lb("1")]);
    expect(await retry).toHaveLength(1);
  });
});
