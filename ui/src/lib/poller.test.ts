import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Poller, type PollEnv, type PollInputs } from "./poller";

// A page whose visibility the test controls, on vitest's fake clock and timers.
function setup(inputs: Partial<PollInputs> = {}) {
  let hidden = false;
  const env: PollEnv = {
    now: () => Date.now(),
    hidden: () => hidden,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
  const state: PollInputs = { anyPending: false, rateRemaining: 5000, rateLimit: 5000, ...inputs };
  let runs = 0;
  // Like the view: each refresh schedules the next one when it is done.
  const poller: Poller = new Poller(
    () => {
      runs++;
      poller.schedule();
    },
    () => state,
    env,
  );
  return {
    poller,
    state,
    runs: () => runs,
    setHidden: (h: boolean) => {
      hidden = h;
      poller.visibility();
    },
  };
}

describe("Poller", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("refreshes every 15 s while someone is using the app", () => {
    const t = setup();
    t.poller.schedule();
    vi.advanceTimersByTime(14_999);
    expect(t.runs()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(t.runs()).toBe(1);
    vi.advanceTimersByTime(15_000);
    expect(t.runs()).toBe(2);
  });

  it("slows to once a minute after five idle minutes, and catches up on activity", () => {
    const t = setup();
    t.poller.schedule();
    // Refreshes at 15 s, 30 s, … 5 min; the one at 5 min 15 s finds the user idle.
    vi.advanceTimersByTime(5 * 60_000 + 15_000);
    const before = t.runs();
    expect(before).toBe(21);
    expect(t.poller.due! - Date.now()).toBe(60_000);
    // The user comes back 5 s later: the next refresh moves to 15 s after the last one.
    vi.advanceTimersByTime(5_000);
    t.poller.activity();
    expect(t.poller.due! - Date.now()).toBe(10_000);
    vi.advanceTimersByTime(9_999);
    expect(t.runs()).toBe(before);
    vi.advanceTimersByTime(1);
    expect(t.runs()).toBe(before + 1);
  });

  it("pauses while hidden and refreshes at once when shown again", () => {
    const t = setup();
    t.poller.schedule();
    t.setHidden(true);
    expect(t.poller.due).toBeNull();
    vi.advanceTimersByTime(10 * 60_000);
    expect(t.runs()).toBe(0);
    t.setHidden(false);
    expect(t.runs()).toBe(1);
    expect(t.poller.due).not.toBeNull();
  });

  it("a refresh finished while hidden does not start polling", () => {
    const t = setup();
    t.setHidden(true);
    t.poller.schedule();
    expect(t.poller.due).toBeNull();
  });

  it("polls every 5 s while a load balancer is new, but not when the rate limit is nearly spent", () => {
    const t = setup({ anyPending: true });
    t.poller.schedule();
    vi.advanceTimersByTime(5_000);
    expect(t.runs()).toBe(1);
    t.state.rateRemaining = 100;
    t.poller.schedule();
    vi.advanceTimersByTime(59_999);
    expect(t.runs()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(t.runs()).toBe(2);
  });

  it("activity never delays a refresh that is already due sooner", () => {
    const t = setup({ anyPending: true });
    t.poller.schedule();
    const due = t.poller.due;
    t.poller.activity();
    expect(t.poller.due).toBe(due);
  });
});
