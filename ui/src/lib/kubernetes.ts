// Load balancers a Kubernetes cluster (DOKS) owns: its cloud controller reconciles them back to
// the Service's annotations, so a change made here is reverted. Core recognises them (tags, name,
// NodePorts, the kube-proxy health check) and refuses changes unless overridden; this is the
// UI's pure part: the badge, the notice's sentence, the annotations as a YAML snippet to paste
// into the Service, and the `managed_by_kubernetes` error's details read safely.
import type { Annotation, KubernetesOwner, KubernetesOwned } from "./bindings";
import { errorCode } from "./errors";

/** "Managed by Kubernetes cluster <id>" (or "a Kubernetes cluster" when no tag names it). */
export function ownerTitle(owner: Pick<KubernetesOwner, "clusterId">): string {
  const id = owner.clusterId?.trim();
  return id ? `Managed by Kubernetes cluster ${id}` : "Managed by a Kubernetes cluster";
}

/** The detail's notice: who owns it and what to do instead. */
export function ownerNotice(owner: Pick<KubernetesOwner, "clusterId">): string {
  return `${ownerTitle(owner)} — its controller reverts changes made here. Set the Service's annotations instead.`;
}

/** The list's badge for one load balancer: its text and title, or null when no cluster owns it. */
export function kubernetesBadge(
  owners: ReadonlyMap<string, KubernetesOwner>,
  id: string,
): { label: string; title: string } | null {
  const owner = owners.get(id);
  return owner ? { label: "Kubernetes", title: ownerTitle(owner) } : null;
}

/** The list's `kubernetes` entries by load-balancer id (a missing list is none). */
export function ownersById(owned: readonly KubernetesOwned[] | null | undefined): Map<string, KubernetesOwner> {
  const map = new Map<string, KubernetesOwner>();
  for (const o of owned ?? []) if (o && typeof o.id === "string" && o.owner) map.set(o.id, o.owner);
  return map;
}

/** True when two owner maps say the same (so a refresh that changes nothing keeps the old map). */
export function sameOwners(a: ReadonlyMap<string, KubernetesOwner>, b: ReadonlyMap<string, KubernetesOwner>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, owner] of a) {
    const other = b.get(id);
    if (!other || JSON.stringify(other) !== JSON.stringify(owner)) return false;
  }
  return true;
}

// A key YAML takes unquoted: annotation keys are `prefix/name` of letters, digits, `.`, `_`, `-`.
const PLAIN_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** A YAML double-quoted scalar: backslash, quote and control characters escaped. */
export function yamlQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029)
      out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * The annotations as the part of a Service manifest to paste: `metadata:` / `annotations:` /
 * `key: "value"` (values always quoted: Kubernetes annotations are strings, and `true` or `443`
 * unquoted would be a boolean or a number). Empty for no annotations.
 */
export function annotationsYaml(annotations: readonly Annotation[]): string {
  if (annotations.length === 0) return "";
  const lines = ["metadata:", "  annotations:"];
  for (const a of annotations) {
    const key = PLAIN_KEY.test(a.key) ? a.key : yamlQuote(a.key);
    lines.push(`    ${key}: ${yamlQuote(a.value)}`);
  }
  return lines.join("\n");
}

/** What a `managed_by_kubernetes` error carries, read defensively. */
export interface KubernetesRefusal {
  owner: KubernetesOwner | null;
  annotations: Annotation[];
  unmappedFields: string[];
}

function isOwner(v: unknown): v is KubernetesOwner {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  return typeof o.kubectl === "string" && Array.isArray(o.signals);
}

/** The details of a `managed_by_kubernetes` error; null for any other error. */
export function kubernetesRefusal(err: unknown): KubernetesRefusal | null {
  if (errorCode(err) !== "managed_by_kubernetes") return null;
  const details =
    err && typeof err === "object" && "details" in err ? ((err as { details: unknown }).details ?? null) : null;
  const d = details && typeof details === "object" ? (details as Record<string, unknown>) : {};
  const annotations = Array.isArray(d.annotations)
    ? d.annotations.filter(
        (a): a is Annotation =>
          !!a && typeof a === "object" && typeof (a as Annotation).key === "string" && typeof (a as Annotation).value === "string",
      )
    : [];
  const unmappedFields = Array.isArray(d.unmapped_fields)
    ? d.unmapped_fields.filter((f): f is string => typeof f === "string")
    : [];
  return { owner: isOwner(d.owner) ? d.owner : null, annotations, unmappedFields };
}
