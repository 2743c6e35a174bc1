// Waiting for the screen to show the last DOM update.

/**
 * Resolves once the next frame has been painted: `requestAnimationFrame` runs just before the
 * browser lays out and paints the frame, and a task queued from there runs just after it. (A mark
 * set in the animation frame callback itself would leave out the layout and the paint.)
 */
export function afterNextPaint(): Promise<void> {
  return new Promise((resolve) => {
    requestAnimationFrame(() => {
      setTimeout(resolve, 0);
    });
  });
}

/** Items gathered between two frames ([`batchPerFrame`]). */
export interface FrameBatch<T> {
  /** Adds an item; the batch is handed over at the next frame. */
  push(item: T): void;
  /** Drops what has not been handed over yet (the run it belonged to is over). */
  cancel(): void;
}

/**
 * Hands `apply` what arrived since the last frame, once per frame: a stream of many small
 * updates (a certificate check's 200 backends, one event each) redraws at most once a frame
 * instead of once an item — each redraw recomputes what is derived from all items so far.
 */
export function batchPerFrame<T>(
  apply: (items: T[]) => void,
  schedule: (run: () => void) => unknown = (run) => requestAnimationFrame(run),
): FrameBatch<T> {
  let pending: T[] = [];
  let queued = false;
  let cancelled = false;
  return {
    push(item) {
      if (cancelled) return;
      pending.push(item);
      if (queued) return;
      queued = true;
      schedule(() => {
        queued = false;
        if (cancelled || !pending.length) return;
        const items = pending;
        pending = [];
        apply(items);
      });
    },
    cancel() {
      cancelled = true;
      pending = [];
    },
  };
}
