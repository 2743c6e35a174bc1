// A result that is slow to get (it probes droplets) and that views show again and again: kept
// per account for a while, so coming back to a view shows it at once, and reloaded on demand.
import { errorMessage } from "./ipc";

export class CachedLoad<T> {
  value = $state<T | null>(null);
  error = $state<string | null>(null);
  loading = $state(false);
  /** When `value` was fetched (ms since the epoch), or null before the first result. */
  loadedAt = $state<number | null>(null);
  #key: unknown = undefined;
  // Only the latest load may write: a slow answer for the account the user just left must not
  // land after the new account's.
  #generation = 0;
  readonly #fetch: () => Promise<T>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(fetch: () => Promise<T>, maxAgeMs: number, now: () => number = Date.now) {
    this.#fetch = fetch;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /**
   * Fetches for `key` (the account) unless a result for it is younger than the maximum age or
   * is on its way; `force` always fetches. A failed fetch is retried on the next call.
   */
  async load(key: unknown, force = false): Promise<void> {
    const sameKey = key === this.#key;
    if (!force && sameKey) {
      if (this.loading) return;
      const age = this.loadedAt === null ? Infinity : this.#now() - this.loadedAt;
      if (this.error === null && age < this.#maxAgeMs) return;
    }
    if (!sameKey) {
      this.value = null;
      this.loadedAt = null;
    }
    this.#key = key;
    const generation = ++this.#generation;
    this.loading = true;
    this.error = null;
    try {
      const value = await this.#fetch();
      if (generation !== this.#generation) return;
      this.value = value;
      this.loadedAt = this.#now();
    } catch (err) {
      if (generation === this.#generation) this.error = errorMessage(err);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }
}
