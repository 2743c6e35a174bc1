import { describe, expect, it } from "vitest";
import { Task } from "./task.svelte";

// A call the test answers by hand.
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("Task", () => {
  it("is busy while the call is on its way, then holds its value", async () => {
    const task = new Task<string>();
    const call = deferred<string>();
    const run = task.run(() => call.promise);
    expect(task.busy).toBe(true);
    expect(task.value).toBeNull();
    call.resolve("plan");
    expect(await run).toBe(true);
    expect(task.busy).toBe(false);
    expect(task.value).toBe("plan");
    expect(task.error).toBeNull();
  });

  it("keeps the error as thrown and clears the value a failed run would leave stale", async () => {
    const task = new Task<string>();
    await task.run(async () => "old");
    const boom = Object.assign(new Error("busy"), { code: "busy" });
    expect(
      await task.run(async () => {
        throw boom;
      }),
    ).toBe(false);
    expect(task.error).toBe(boom);
    expect(task.value).toBeNull();
    expect(task.busy).toBe(false);
  });

  it("clears the last error when it runs again", async () => {
    const task = new Task<number>();
    await task.run(() => Promise.reject(new Error("no")));
    const call = deferred<number>();
    const run = task.run(() => call.promise);
    expect(task.error).toBeNull();
    call.resolve(3);
    await run;
    expect(task.value).toBe(3);
  });

  it("keeps the newer run's result when an older one answers last", async () => {
    const task = new Task<string>();
    const slow = deferred<string>();
    const fast = deferred<string>();
    const first = task.run(() => slow.promise);
    const second = task.run(() => fast.promise);
    fast.resolve("new");
    expect(await second).toBe(true);
    slow.resolve("old");
    expect(await first).toBe(false);
    expect(task.value).toBe("new");
    expect(task.busy).toBe(false);
  });

  it("ignores an older run's failure and its settling while a newer one is busy", async () => {
    const task = new Task<string>();
    const slow = deferred<string>();
    const pending = deferred<string>();
    const first = task.run(() => slow.promise);
    void task.run(() => pending.promise);
    slow.reject(new Error("late"));
    await first;
    expect(task.error).toBeNull();
    expect(task.busy).toBe(true);
  });

  it("reset drops a run on its way", async () => {
    const task = new Task<string>();
    const call = deferred<string>();
    const run = task.run(() => call.promise);
    task.reset();
    expect(task.busy).toBe(false);
    call.resolve("for the old domain");
    expect(await run).toBe(false);
    expect(task.value).toBeNull();
  });
});
