// What the UI says and offers for a failed command, by its stable code: one table, so "busy"
// offers Retry and "unauthorized" points to Accounts the same way in every view. The message
// comes from Rust (what happened); the hint and the action come from here (what to do next in
// this app). Codes this table does not know yet still show their message, with no hint.
import type { ErrorCode } from "./bindings";
import { CommandError } from "./ipc";

/**
 * What the error box offers: `retry` the same call, `reload` what is shown (a list, a form),
 * go to `accounts`, `wait` (no button: the hint says how long), or nothing.
 */
export type ErrorActionKind = "retry" | "reload" | "accounts" | "wait" | "none";

export interface ErrorAction {
  kind: ErrorActionKind;
  /** The button's text; empty for `wait` and `none`. */
  label: string;
}

interface Entry {
  hint: string | null;
  action: ErrorActionKind;
  /** A button text other than the kind's usual one. */
  label?: string;
  /** The hint is left out when the message already says this (Rust messages that still carry it). */
  redundantIf?: RegExp;
}

// Codes Rust is about to send; listed here so the table covers them before `ErrorCode` does.
// (Keyed by `ErrorCode`, the table stops type-checking when Rust adds a code it lacks.)
type ComingCode = "confirmation_required";

const TABLE: Record<ErrorCode | ComingCode, Entry> = {
  invalid_input: { hint: null, action: "none" },
  validation: { hint: null, action: "none" },
  unauthorized: { hint: "Replace the token in Accounts.", action: "accounts", redundantIf: /in Accounts/i },
  forbidden: {
    hint: "Give the account a token with the scope this needs, in Accounts.",
    action: "accounts",
    redundantIf: /in Accounts/i,
  },
  busy: {
    hint: "The load balancer is still applying a previous change: retry in a moment.",
    action: "retry",
    redundantIf: /try again in a moment/i,
  },
  not_found: { hint: "It may have been deleted meanwhile: reload to see what is there now.", action: "reload" },
  conflict: { hint: "It changed since it was loaded and nothing was written: reload, then review again.", action: "reload" },
  // The wait, when the API said it, comes from `details.retry_after_seconds` (see errorHint):
  // no fixed "a minute" that the message ("try again in 3 h 20 min") would contradict.
  rate_limited: { hint: "Wait until the rate limit resets, then try again.", action: "wait", redundantIf: /try again/i },
  server: { hint: "DigitalOcean failed on its side: retry shortly.", action: "retry", redundantIf: /try again shortly/i },
  network: { hint: "Check the network connection, then retry.", action: "retry" },
  timeout: { hint: "No answer in time: retry.", action: "retry" },
  decode: { hint: "DigitalOcean's answer could not be read: reload to see the current state.", action: "reload" },
  maybe_applied: {
    hint: "The change may have been made: check the list before retrying.",
    action: "reload",
    label: "Reload list",
    redundantIf: /check before retrying/i,
  },
  not_ready: {
    hint: "Fix the red readiness items and re-check, or tick the override to apply anyway.",
    action: "none",
  },
  managed_by_kubernetes: {
    hint: "A Kubernetes cluster owns this load balancer: set the Service's annotations instead",
    action: "none",
  },
  confirmation_required: { hint: "This account is protected: type the name to confirm.", action: "none" },
  keychain: {
    hint: "Unlock the OS keychain and retry, or use the token for this run only (Accounts).",
    action: "accounts",
  },
  address_unavailable: {
    hint: "Pick another listen port — 0 lets the system choose a free one; ports below 1024 need privileges.",
    action: "none",
  },
  io: { hint: null, action: "none" },
  internal: { hint: "Something unexpected failed: the Logs view has the details.", action: "none" },
};

const LABELS: Record<ErrorActionKind, string> = {
  retry: "Retry",
  reload: "Reload",
  accounts: "Go to Accounts",
  wait: "",
  none: "",
};

/** Everything the error box shows, for any thrown value. */
export interface ErrorInfo {
  message: string;
  /** The stable code, or null for a value that has none (a local error, a string). */
  code: string | null;
  /** The API request id, to quote to support. */
  requestId: string | null;
  hint: string | null;
  action: ErrorAction;
  details: unknown;
}

function entry(code: string | null): Entry | null {
  return code !== null && Object.prototype.hasOwnProperty.call(TABLE, code) ? TABLE[code as keyof typeof TABLE] : null;
}

/** The code of a thrown value: a `CommandError`'s, or an `{ code, message }` object's (a raw `ApiError`). */
export function errorCode(err: unknown): string | null {
  if (err instanceof CommandError) return err.code;
  if (err && typeof err === "object" && typeof (err as { code?: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return null;
}

function errorDetails(err: unknown): unknown {
  if (err && typeof err === "object" && "details" in err) return (err as { details: unknown }).details ?? null;
  return null;
}

function requestIdOf(details: unknown): string | null {
  if (!details || typeof details !== "object") return null;
  const id = (details as Record<string, unknown>)["request_id"];
  return typeof id === "string" && id ? id : null;
}

function messageOf(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && typeof (err as { message?: unknown }).message === "string") {
    return (err as { message: string }).message;
  }
  return String(err);
}

/**
 * A wait in seconds as the Rust messages say it ("45 s", "2 min 5 s", "3 h 20 min", "1 d 2 h"):
 * the two largest units, the second left out when zero.
 */
export function humanDuration(seconds: number): string {
  const secs = Math.round(seconds);
  const d = Math.floor(secs / 86_400);
  const h = Math.floor(secs / 3_600) % 24;
  const m = Math.floor(secs / 60) % 60;
  const s = secs % 60;
  const pair = (a: number, au: string, b: number, bu: string) => (b === 0 ? `${a} ${au}` : `${a} ${au} ${b} ${bu}`);
  if (d > 0) return pair(d, "d", h, "h");
  if (h > 0) return pair(h, "h", m, "min");
  if (m > 0) return pair(m, "min", s, "s");
  return `${s} s`;
}

/** The hint for a code (null for none, or a code the table does not know). */
export function errorHint(code: string | null, details: unknown = null): string | null {
  if (code === "rate_limited") {
    const wait = details && typeof details === "object" ? (details as Record<string, unknown>)["retry_after_seconds"] : null;
    if (typeof wait === "number" && wait > 0) return `Wait ${humanDuration(wait)}, then try again.`;
  }
  return entry(code)?.hint ?? null;
}

/** The action for a code: unknown codes offer none. */
export function errorAction(code: string | null): ErrorAction {
  const e = entry(code);
  const kind = e?.action ?? "none";
  return { kind, label: e?.label ?? LABELS[kind] };
}

/** Message, code, request id, hint and action of any thrown value. */
export function describeError(err: unknown): ErrorInfo {
  const code = errorCode(err);
  const details = errorDetails(err);
  const message = messageOf(err);
  let hint = errorHint(code, details);
  if (hint !== null && entry(code)?.redundantIf?.test(message)) hint = null;
  return { message, code, requestId: requestIdOf(details), hint, action: errorAction(code), details };
}

/** The button an error box shows: which action, its text and its `data-testid`. */
export interface ErrorButton {
  kind: "retry" | "reload" | "accounts";
  label: string;
  testid: string;
}

export interface ErrorButtonOptions {
  /** What the caller can do: a retry, a reload; going to Accounts (not from Accounts itself). */
  can: { retry: boolean; reload: boolean; accounts: boolean };
  /** The box's `data-testid`: `x-error` names the buttons `x-retry`, `x-reload`, `x-accounts`. */
  testid?: string;
  retryTestid?: string;
  reloadTestid?: string;
  /** Instead of the action's usual text. */
  label?: string;
}

/** The one button for an error's code, when the code calls for an action the caller can take. */
export function errorButton(code: string | null, o: ErrorButtonOptions): ErrorButton | null {
  const action = errorAction(code);
  if (action.kind === "wait" || action.kind === "none" || !o.can[action.kind]) return null;
  const stem = o.testid?.endsWith("-error") ? o.testid.slice(0, -"-error".length) : null;
  const given = action.kind === "retry" ? o.retryTestid : action.kind === "reload" ? o.reloadTestid : undefined;
  const testid = given ?? (stem ? `${stem}-${action.kind}` : action.kind);
  return { kind: action.kind, label: o.label ?? action.label, testid };
}
