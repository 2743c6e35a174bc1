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
  cert_create: "Certificate created",
  cert_delete: "Certificate deleted",
};

/** Certificate changes (a create or upload, a delete; a rotation is journaled as these steps). */
export function isCertificate(kind: ChangeKind): boolean {
  return kind === "cert_create" || kind === "cert_delete";
}

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
  if (isCertificate(e.kind))
    return "Deleting or re-creating a certificate is not an undo: a new one gets a new id (and an upload's key is not kept). Rotate to the certificate you want instead.";
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
  if (isCertificate(e.kind)) {
    const cert = certificateSummary(e);
    if (cert !== null) return cert;
  }
  const fields = changedFields(e);
  if (fields.length === 0) {
    if (e.kind === "create" || e.kind === "cert_create") return "Created";
    if (e.kind === "delete" || e.kind === "cert_delete") return "Deleted";
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

const CERT_TYPES: Record<string, string> = { lets_encrypt: "Let's Encrypt", custom: "custom" };

/**
 * A certificate entry as a sentence from its name, type and names lines (`Created Let's Encrypt
 * "blog-le-2" for blog.example.com`); a rotation's delete says what replaced it. Null when the
 * entry has no name line.
 */
export function certificateSummary(e: EntryLike): string | null {
  const line = (path: string) => e.changes.find((c) => c.path === path);
  const created = e.kind === "cert_create";
  const value = (path: string): unknown => {
    const c = line(path);
    return c === undefined ? undefined : created ? c.after : c.before;
  };
  const name = value("name");
  if (typeof name !== "string") return null;
  const type = value("type");
  const names = value("dns_names");
  const typeText = typeof type === "string" && type !== "" ? `${CERT_TYPES[type] ?? type} ` : "";
  const list = Array.isArray(names) ? names.filter((n) => typeof n === "string" && n !== "") : [];
  let text = `${created ? "Created" : "Deleted"} ${typeText}"${name}"`;
  if (list.length > 0) text += ` for ${short(list.join(", "), 48)}`;
  const rotated = line("rotated_to");
  if (!created && rotated !== undefined && typeof rotated.after === "string") text += `, replaced by "${rotated.after}"`;
  return text;
}

/** An RFC 3339 time in the user's local time zone (as given when it cannot be read). */
export function localTime(at: string): string {
  const t = new Date(at);
  return Number.isNaN(t.getTime()) ? at : t.toLocaleString();
}
