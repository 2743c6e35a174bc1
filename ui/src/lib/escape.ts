// Esc closes the innermost thing open: a dialog, then the editor, then the detail. Each of them
// registers a handler while it is open; one window listener (installed with the first handler)
// calls only the newest, which always consumes Esc (whatever it returns: `() => (open = false)`
// must not let Esc fall through and close the layer below too). An element that uses Esc itself
// (the search field clears) calls preventDefault.

export type EscapeHandler = () => unknown;

export class EscapeStack {
  private handlers: EscapeHandler[] = [];

  /** Registers `handler` on top; returns the function that removes it. */
  push(handler: EscapeHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const i = this.handlers.lastIndexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Gives Esc to the newest handler; false when nothing is open. */
  escape(): boolean {
    const top = this.handlers[this.handlers.length - 1];
    if (!top) return false;
    top();
    return true;
  }

  get size(): number {
    return this.handlers.length;
  }
}

export const escapeStack = new EscapeStack();

let listening = false;

/** Registers an Esc handler on the app's stack (and the window listener, once). */
export function onEscape(handler: EscapeHandler): () => void {
  if (!listening && typeof window !== "undefined") {
    listening = true;
    window.addEventListener("keydown", (event) => escapeKeydown(event));
  }
  return escapeStack.push(handler);
}

/** For `<svelte:window onkeydown>`: Esc goes to the stack; true when something closed. */
export function escapeKeydown(event: KeyboardEvent, stack: EscapeStack = escapeStack): boolean {
  if (event.key !== "Escape" || event.defaultPrevented) return false;
  if (stack.escape()) {
    event.preventDefault();
    return true;
  }
  return false;
}
