// The Activity view's pure logic (issue 16): every journal entry across load balancers and DNS,
// filtered by kind and by what it changed. Kept out of the component so it can be tested.
import type { ChangeKind } from "./bindings";
import { isCertificate, KIND_LABELS } from "./history";

export interface ActivityEntry {
  kind: ChangeKind;
  lbId: string;
  lbName: string;
  domain?: string | null;
  account: string;
}

export interface ActivityFilter {
  kind: ChangeKind | "all";
  /** A load balancer's name or id, or a domain; "" for all. */
  subject: string;
}

/**
 * What an entry is about, as the list names it: the domain of a DNS change, the certificate of a
 * certificate change (its name is in lbName), else the load balancer.
 */
export function subjectOf(e: ActivityEntry): string {
  if (e.domain) return e.domain;
  if (isCertificate(e.kind)) return `certificate ${e.lbName || e.lbId}`;
  return e.lbName || e.lbId;
}

export function isDns(e: ActivityEntry): boolean {
  return e.kind === "dns_apply" || e.kind === "dns_rollback";
}

export function matches(e: ActivityEntry, f: ActivityFilter): boolean {
  if (f.kind !== "all" && e.kind !== f.kind) return false;
  const s = f.subject.trim();
  if (s === "") return true;
  return subjectOf(e) === s || e.lbId === s || e.lbName === s;
}

/** The entries the filter keeps, in their order (the journal's: newest first). */
export function filterEntries<T extends ActivityEntry>(entries: readonly T[], f: ActivityFilter): T[] {
  return entries.filter((e) => matches(e, f));
}

/** The subjects to offer in the filter, each once, sorted. */
export function subjects(entries: readonly ActivityEntry[]): string[] {
  return [...new Set(entries.map(subjectOf).filter((s) => s !== ""))].sort((a, b) => a.localeCompare(b));
}

/** The kinds to offer, in the labels' order. */
export const KIND_CHOICES: { value: ChangeKind | "all"; label: string }[] = [
  { value: "all", label: "All kinds" },
  ...(Object.entries(KIND_LABELS) as [ChangeKind, string][]).map(([value, label]) => ({ value, label })),
];
