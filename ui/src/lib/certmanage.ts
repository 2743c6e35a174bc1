// Certificates at DigitalOcean (create, upload, rotate) and the global load balancer view: the
// pure parts of CertManage*.svelte and GlbView.svelte, tested without a webview.
import type {
  GlbDomain,
  GlbTarget,
  NewCertificateForm_Deserialize,
  PemSource_Deserialize,
  RotateOutcome,
  RotatePlan,
  UploadCheck,
  UploadForm_Deserialize,
} from "./bindings";

/** How the user gives a PEM: a file picked (only its path crosses; Rust reads it) or pasted. */
export type PemEntry = { mode: "file" | "paste"; path: string; text: string };

export const emptyPem = (): PemEntry => ({ mode: "file", path: "", text: "" });

/** The entry as the command takes it; `null` fields for what was not given. */
export function pemSource(e: PemEntry): PemSource_Deserialize {
  if (e.mode === "paste") return { path: null, text: e.text.trim() ? e.text : null };
  return { path: e.path.trim() || null, text: null };
}

export function pemGiven(e: PemEntry): boolean {
  return e.mode === "paste" ? e.text.trim().length > 0 : e.path.trim().length > 0;
}

/** Domains typed one a line or separated by commas/spaces, lower-cased, trailing dot dropped, each once. */
export function parseNames(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    const n = raw.trim().toLowerCase().replace(/\.$/, "");
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

export type UploadFields = {
  name: string;
  cert: PemEntry;
  key: PemEntry;
  chain: PemEntry;
  caFile: string;
  allowUntrusted: boolean;
};

export const emptyUpload = (): UploadFields => ({
  name: "",
  cert: emptyPem(),
  key: emptyPem(),
  chain: emptyPem(),
  caFile: "",
  allowUntrusted: false,
});

/** What is missing before the files can be checked, by field. */
export function uploadErrors(f: UploadFields): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!f.name.trim()) errors.name = "Give the certificate a name.";
  if (!pemGiven(f.cert)) errors.cert = "Pick the certificate file or paste it.";
  if (!pemGiven(f.key)) errors.key = "Pick the private key file or paste it.";
  return errors;
}

export function uploadForm(f: UploadFields): UploadForm_Deserialize {
  return {
    name: f.name.trim(),
    cert: pemSource(f.cert),
    key: pemSource(f.key),
    chain: pemSource(f.chain),
    caFile: f.caFile.trim() || null,
    allowUntrusted: f.allowUntrusted,
  };
}

export type NewKind = "existing" | "lets_encrypt" | "upload";

/** The rotation's new certificate as the command takes it. */
export function newCertificateForm(
  kind: NewKind,
  name: string,
  names: string,
  upload: UploadFields,
): NewCertificateForm_Deserialize {
  switch (kind) {
    case "existing":
      return { kind, name: name.trim() };
    case "lets_encrypt":
      return { kind, name: name.trim(), dns_names: parseNames(names) };
    case "upload":
      return { kind, form: uploadForm({ ...upload, name: name.trim() }) };
  }
}

/** One line for the check's verdict. */
export function checkSummary(check: UploadCheck): string {
  const blocking = check.findings.filter((f) => f.blocks).length;
  if (check.ok) {
    const notes = check.findings.length;
    return notes
      ? `Nothing stops the upload (${notes} note${notes === 1 ? "" : "s"}).`
      : "Nothing stops the upload.";
  }
  return `Refused: ${blocking} problem${blocking === 1 ? "" : "s"} to fix before it can be sent.`;
}

/** One line for a rotation's review. */
export function planSummary(plan: RotatePlan): string {
  if (plan.blockers.length) return `Cannot rotate: ${plan.blockers[0]}`;
  const lbs = plan.targets.filter((t) => t.rules.length).length;
  const where = lbs === 0 ? "no load balancer uses it" : `${lbs} load balancer${lbs === 1 ? "" : "s"} to repoint`;
  return `Replace "${plan.oldName}" with ${plan.newDescription}: ${where}, then delete the old one.`;
}

/** One line for a rotation's end. */
export function outcomeSummary(o: RotateOutcome): string {
  const name = o.newCertificate?.name ?? "the new certificate";
  if (o.complete) return `Rotation complete: "${name}" is in place and the old certificate is deleted.`;
  return `Not complete: "${name}" ${o.created ? "was created and " : ""}stays; ${o.left.length} thing${o.left.length === 1 ? "" : "s"} left to do.`;
}

/** A domain's badge tone: ok when active, warn while being set up, err when something failed. */
export function domainTone(d: GlbDomain): "ok" | "warn" | "err" {
  const s = (d.status ?? "").toUpperCase();
  if (s === "ACTIVE" && !d.errors.length) return "ok";
  if (s === "ERROR" || s === "FAILED") return "err";
  return "warn";
}

/** The regional load balancers in the order the global one prefers them (lower priority first). */
export function byPriority(targets: GlbTarget[]): GlbTarget[] {
  return [...targets].sort((a, b) => (a.priority ?? Number.MAX_SAFE_INTEGER) - (b.priority ?? Number.MAX_SAFE_INTEGER));
}
