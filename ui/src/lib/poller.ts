// The list's automatic refresh: when to run it next (`nextPollDelay`), wired to a clock, the
// page's visibility and the user's activity. Kept out of the view so the scheduling itself can be
// tested with fake timers.
import { nextPollDelay } from "./lb";

export interface PollInputs {
  anyPending: boolean;
  rateRemaining: number | null;
  rateLimit: number | null;
}

export interface PollEnv {
  now(): number;
  hidden(): boolean;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const browserEnv: PollEnv = {
  now: () => Date.now(),
  hidden: () => typeof document !== "undefined" && document.hidden,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class Poller {
  private timer: unknown = null;
  private lastActivity: number;
  private scheduledAt = 0;
  private fireAt: number | null = null;

  constructor(
    private readonly run: () => void,
    private readonly inputs: () => PollInputs,
    private readonly env: PollEnv = browserEnv,
  ) {
    this.lastActivity = env.now();
  }

  /** When the next automatic refresh is due (epoch ms), or null while paused. */
  get due(): number | null {
    return this.fireAt;
  }

  private delay(idleMs: number): number | null {
    return nextPollDelay({ hidden: this.env.hidden(), idleMs, ...this.inputs() });
  }

  private arm(ms: number) {
    this.cancel();
    this.fireAt = this.env.now() + ms;
    this.timer = this.env.setTimeout(() => {
      this.timer = null;
      this.fireAt = null;
      this.run();
    }, ms);
  }

  /** Plans the next refresh from now; call after every refresh, automatic or not. */
  schedule() {
    const now = this.env.now();
    this.scheduledAt = now;
    const ms = this.delay(now - this.lastActivity);
    if (ms === null) this.cancel();
    else this.arm(ms);
  }

  /** The user did something: an idle (slow) schedule catches up to the active cadence. */
  activity() {
    const now = this.env.now();
    this.lastActivity = now;
    if (this.fireAt === null) return;
    const ms = this.delay(0);
    if (ms === null) return;
    const sooner = this.scheduledAt + ms;
    if (sooner < this.fireAt) this.arm(Math.max(0, sooner - now));
  }

  /** The page was hidden or shown: hidden pauses; shown again refreshes at once. */
  visibility() {
    if (this.env.hidden()) this.cancel();
    else {
      this.cancel();
      this.run();
    }
  }

  cancel() {
    if (this.timer !== null) this.env.clearTimeout(this.timer);
    this.timer = null;
    this.fireAt = null;
  }
}
