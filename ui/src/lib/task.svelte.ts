// One async call's state as a view shows it: the value it gave, the error it threw (kept as
// thrown, so the error box can read its code and request id), and whether it is on its way.
// `CachedLoad` without the cache, for the try/busy/catch blocks views would otherwise write.

export class Task<T> {
  value = $state<T | null>(null);
  /** What the last run threw, as thrown; null after a success or before any run. */
  error = $state<unknown>(null);
  busy = $state(false);
  // Only the latest run may write: a slow answer to an older run (or to one `reset` dropped)
  // must not land over a newer one.
  #generation = 0;

  /**
   * Runs `fn`: busy until it settles, then its value, or its error with the value cleared (a
   * failed reload must not leave the old value looking current). Resolves to true when this run
   * succeeded and is still the latest; it never rejects.
   */
  async run(fn: () => Promise<T>): Promise<boolean> {
    const generation = ++this.#generation;
    this.busy = true;
    this.error = null;
    try {
      const value = await fn();
      if (generation !== this.#generation) return false;
      this.value = value;
      return true;
    } catch (err) {
      if (generation === this.#generation) {
        this.value = null;
        this.error = err;
      }
      return false;
    } finally {
      if (generation === this.#generation) this.busy = false;
    }
  }

  /** Back to the start: no value, no error, not busy; a run still on its way is ignored. */
  reset(): void {
    this.#generation++;
    this.value = null;
    this.error = null;
    this.busy = false;
  }
}
