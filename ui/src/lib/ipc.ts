// Calls into the Rust side. Every command returns `{status, data}` or `{status, error}` where the
// error is `{ code, message, details }`; `unwrap` turns the error case into a thrown `CommandError`
// so views can use try/catch and still match on the stable code.
import type { ApiError, ErrorCode } from "./bindings";

export class CommandError extends Error {
  code: ErrorCode;
  details: unknown;
  constructor(err: ApiError) {
    super(err.message);
    this.name = "CommandError";
    this.code = err.code;
    this.details = err.details ?? null;
  }

  /** The API request id, when the error carries one (shown so users can quote it to support). */
  get requestId(): string | null {
    const d = this.details as Record<string, unknown> | null;
    const id = d && typeof d === "object" ? d["request_id"] : null;
    return typeof id === "string" ? id : null;
  }
}

export type CommandResult<T> = { status: "ok"; data: T } | { status: "error"; error: ApiError };

export async function unwrap<T>(result: Promise<CommandResult<T>>): Promise<T> {
  const r = await result;
  if (r.status === "ok") return r.data;
  throw new CommandError(r.error);
}

/** A message for any thrown value, for the places that only show text. */
export function errorMessage(err: unknown): string {
  if (err instanceof CommandError) {
    return err.requestId ? `${err.message} (request ${err.requestId})` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True inside the Tauri webview (false in unit tests and a plain browser). */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}
