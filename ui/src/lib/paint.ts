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
