// The History tab's pure logic (issue 16): how a journal entry is named, summarised and whether
// it can be reverted. Kept out of the component so it can be tested without a DOM.
import type { ChangeKind, EntryStatus, FieldChange } from "./bindings";
import { formatValue } from "./lbedit";

/** What the helpers read of a journal entry (both binding variants have these). */
export interface EntryLike {
  kind: ChangeKind;
  status: EntryStatus;
  before?: unknown;
  changes: FieldChange[];
  error?: string | null;
}

export const KIND_LABELS: Record<ChangeKind, string> = {
  update: "Edit",
  create: "Create",
  delete: "Delete",
  add_droplets: "Droplets added",
  remove_droplets: "Droplets removed",
  add_rules: "Rules added",
  remove_rules: "Rules removed",
  dns_apply: "DNS cutover",
  dns_rollback: "DNS rollback",
};

export function kindLabel(kind: ChangeKind): string {
  return KIND_LABELS[kind] ?? kind;
}

export const STATUS_LABELS: Record<EntryStatus, string> = {
  done: "Done",
  failed: "Failed",
  // Written before the request and never finished: the app or the CLI stopped mid-way.
  started: "Unfinished",
};

export function statusLabel(status: EntryStatus): string {
  return STATUS_LABELS[status] ?? status;
}

/** Why an entry cannot be reverted by an edit, or null when it can. */
export function revertBlocker(e: EntryLike): string | null {
  if (e.kind === "create") return "A create cannot be undone by an edit: delete the load balancer if it is not wanted.";
  if (e.kind === "delete") return "A delete cannot be undone by an edit: create a load balancer from the entry's before.";
  if (e.kind === "dns_apply" || e.kind === "dns_rollback")
    return "A DNS change is undone with its rollback, in the DNS cutover view.";
  if (e.status === "failed") return "The change failed: nothing was changed, so there is nothing to undo.";
  if (e.before === null || e.before === undefined) return "The entry has no configuration from before the change.";
  return null;
}

/** Edits and droplet or rule changes that took (or may have taken) effect and kept their before. */
export function canRevert(e: EntryLike): boolean {
  return revertBlocker(e) === null;
}

/** The changed fields' paths, in the entry's order, each once. */
export function changedFields(e: EntryLike): string[] {
  return [...new Set(e.changes.map((c) => c.path))];
}

function short(text: string, max = 32): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * One line for the row: the one change as `path: before → after`, several as their paths (at most
 * `max`, then "+N more"), or what a create or delete did when no field is listed.
 */
export function summarize(e: EntryLike, max = 3): string {
  const fields = changedFields(e);
  if (fields.length === 0) {
    if (e.kind === "create") return "Created";
    if (e.kind === "delete") return "Deleted";
    return "No field changed";
  }
  if (e.changes.length === 1) {
    const c = e.changes[0];
    return `${c.path}: ${short(formatValue(c.before))} → ${short(formatValue(c.after))}`;
  }
  const shown = fields.slice(0, max).join(", ");
  const more = fields.length - max;
  return more > 0 ? `${shown} +${more} more` : shown;
}

/** An RFC 3339 time in the user's local time zone (as given when it cannot be read). */
export function localTime(at: string): string {
  const t = new Date(at);
  return Number.isNaN(t.getTime()) ? at : t.toLocaleString();
}
