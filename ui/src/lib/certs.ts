// Pure logic of the Certificates view: grouping backends by the certificate they serve, the
// comparison table with the differing cells, and plain advice per finding code.

/** The parts of a backend report this logic reads (structurally a `BackendReport`). */
export interface BackendLike {
  label: string;
  address: string;
  protocol?: string | null;
  leaf?: LeafLike | null;
  severity?: Severity | null;
  probe: { tls?: { alpn?: string | null } | null; chain: { subject: string }[] };
}

export interface LeafLike {
  sha256: string;
  subject: string;
  issuer: string;
  sans: string[];
  not_before: string;
  not_after: string;
  not_after_unix: number;
  key_type: string;
  key_bits: number;
  curve?: string | null;
  signature_algorithm: string;
}

export type Severity = "info" | "warning" | "error" | "critical";

export interface Group {
  /** "A" is the certificate most backends serve; "—" collects the backends with none. */
  name: string;
  sha256: string | null;
  backends: string[];
}

/**
 * Backends grouped by leaf fingerprint, the biggest group first (ties: first seen). Backends that
 * served no certificate form a last group named "—".
 */
export function groupByCertificate(backends: BackendLike[]): Group[] {
  const bySha = new Map<string, string[]>();
  const none: string[] = [];
  for (const b of backends) {
    const sha = b.leaf?.sha256;
    if (!sha) {
      none.push(b.label);
      continue;
    }
    const list = bySha.get(sha) ?? [];
    list.push(b.label);
    bySha.set(sha, list);
  }
  // Map keeps insertion order and sort is stable, so ties stay in first-seen order.
  const groups: Group[] = [...bySha.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([sha256, labels], i) => ({ name: String.fromCharCode(65 + (i % 26)), sha256, backends: labels }));
  if (none.length) groups.push({ name: "—", sha256: null, backends: none });
  return groups;
}

/** The group name of each backend label. */
export function groupOf(groups: Group[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of groups) for (const label of g.backends) out.set(label, g.name);
  return out;
}

export interface Row {
  field: string;
  values: string[];
  /** True where the cell differs from what most backends show. */
  differs: boolean[];
}

const FIELDS: { field: string; get: (b: BackendLike) => string }[] = [
  { field: "Fingerprint (SHA-256)", get: (b) => b.leaf?.sha256 ?? "" },
  { field: "Subject", get: (b) => b.leaf?.subject ?? "" },
  { field: "SANs", get: (b) => (b.leaf ? [...b.leaf.sans].sort().join(", ") : "") },
  { field: "Issuer", get: (b) => b.leaf?.issuer ?? "" },
  { field: "Valid", get: (b) => (b.leaf ? `${day(b.leaf.not_before)} → ${day(b.leaf.not_after)}` : "") },
  {
    field: "Key",
    get: (b) => (b.leaf ? `${b.leaf.key_type} ${b.leaf.curve ?? b.leaf.key_bits + " bits"}` : ""),
  },
  { field: "Signature", get: (b) => b.leaf?.signature_algorithm ?? "" },
  { field: "Chain", get: (b) => b.probe.chain.map((c) => c.subject).join(" ← ") },
  { field: "TLS version", get: (b) => b.protocol ?? "" },
  { field: "ALPN", get: (b) => b.probe.tls?.alpn ?? "" },
];

function day(rfc3339: string): string {
  return rfc3339.slice(0, 10);
}

/**
 * The comparison table: one row per field, one value per backend. A cell differs when its value
 * is not the most common one among the backends that answered (a missing value only differs when
 * others have one). With one backend nothing differs.
 */
export function comparisonRows(backends: BackendLike[]): Row[] {
  return FIELDS.map(({ field, get }) => {
    const values = backends.map(get);
    const counts = new Map<string, number>();
    for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
    let majority = "";
    let best = 0;
    for (const [v, n] of counts) {
      if (n > best) {
        best = n;
        majority = v;
      }
    }
    const distinct = counts.size;
    const differs = values.map((v) => (v ? distinct > 1 && v !== majority : distinct > 0 && backends.length > 1));
    return { field, values, differs };
  });
}

/** Labels of the backends with at least one differing cell. */
export function differingBackends(backends: BackendLike[]): string[] {
  const rows = comparisonRows(backends);
  return backends.filter((_, i) => rows.some((r) => r.differs[i])).map((b) => b.label);
}

/**
 * `shown` with each backend of `fresh` in place of the one with its label (order kept; a label
 * `shown` lacks is added at the end): what a recheck of some droplets shows while it streams in.
 * The others stay as they were, never dropped.
 */
export function withRechecked<B extends { label: string }>(shown: B[], fresh: B[]): B[] {
  if (!fresh.length) return shown;
  const byLabel = new Map(fresh.map((b) => [b.label, b]));
  const out = shown.map((b) => {
    const f = byLabel.get(b.label);
    if (f) byLabel.delete(b.label);
    return f ?? b;
  });
  return [...out, ...byLabel.values()];
}

/**
 * The droplets a Recheck probes again: the ones the remedy says to change, else (the report
 * after a recheck has no remedy left when it cleared) the ones rechecked last time.
 */
export function recheckDroplets(
  remedy: { droplets: string[] } | null | undefined,
  lastRecheck: string[] | null | undefined,
): string[] {
  if (remedy?.droplets.length) return remedy.droplets;
  return lastRecheck ?? [];
}

const ADVICE: Record<string, string> = {
  "backend.unreachable": "Check that the droplet is running, listens on the target port and that its firewall lets you in.",
  "backend.timeout": "The droplet did not answer in time: check the firewall, the web server and the load on it.",
  "backend.not_tls": "The port answers without TLS: with passthrough the droplet itself must serve HTTPS on it.",
  "backend.handshake_failed": "Look at the web server's TLS settings and error log on this droplet.",
  "cert.name_mismatch": "Install a certificate that covers the domain on this droplet.",
  "cert.expired": "Renew the certificate on this droplet and reload the web server.",
  "cert.not_yet_valid": "Check the droplet's clock, or install a certificate that is already valid.",
  "cert.expiring_soon": "Renew the certificate soon; check that automatic renewal works on this droplet.",
  "chain.untrusted": "Use a certificate from a public CA, or include the right intermediates.",
  "chain.incomplete": "Serve the full chain (the fullchain file), not only the leaf.",
  "cert.self_signed": "Replace the self-signed certificate with one from a public CA.",
  "chain.order": "Serve the leaf first, then each issuer in order.",
  "cert.weak_key": "Issue a new certificate with a 2048-bit RSA or a P-256 key at least.",
  "cert.weak_signature": "Reissue the certificate with a SHA-256 signature.",
  "sni.default_differs": "Clients without SNI get another certificate: make this site the default one if old clients matter.",
  "fleet.fingerprint_mismatch": "Copy the same certificate and key to every droplet, then reload their web servers.",
  "fleet.chain_mismatch": "Serve the same chain from every droplet.",
  "fleet.expiry_spread": "Renew every droplet at the same time, or share one certificate between them.",
  "fleet.protocol_mismatch": "Align the TLS settings of the droplets (same versions and ALPN).",
};

/** What to do about a finding, in one sentence. */
export function advice(code: string): string {
  return ADVICE[code] ?? "See the message for details.";
}

const ORDER: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 };

/** The badge class of a severity (`ok` when there is nothing to report). */
export function severityClass(severity: Severity | null | undefined): "ok" | "warn" | "err" {
  if (!severity || severity === "info") return "ok";
  return ORDER[severity] >= ORDER.error ? "err" : "warn";
}

/** Days left before `unix` (seconds), rounded to one decimal. */
export function daysLeft(unix: number, nowMs: number = Date.now()): number {
  return Math.round(((unix * 1000 - nowMs) / 86_400_000) * 10) / 10;
}

/** Splits the hand-made backend list: one `HOST:PORT` per line or comma. */
export function parseBackends(text: string): string[] {
  return text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

// ---- Check options -------------------------------------------------------------------------

export type ProxyChoice = "auto" | "v1" | "v2";

/** The "Options" disclosure of a check, as typed. */
export interface OptionsForm {
  /** Seconds per probe; empty means the default (5). */
  timeout: string;
  proxy: ProxyChoice;
  /** Path of a PEM file of extra CA certificates; empty for none. */
  caFile: string;
}

export const DEFAULT_OPTIONS: OptionsForm = { timeout: "", proxy: "auto", caFile: "" };

export const TIMEOUT_MIN = 0.5;
export const TIMEOUT_MAX = 300;

export interface CheckOptions {
  proxy_protocol: "v1" | "v2" | null;
  timeout_secs: number | null;
  ca_pem: null;
  concurrency: null;
}

/**
 * The options to send, or the messages of the fields that are wrong. "auto" sends no PROXY
 * choice: a load balancer's own flag applies, hand-made backends get none.
 */
export function checkOptions(
  form: OptionsForm,
): { ok: true; options: CheckOptions; caFile: string | null } | { ok: false; errors: Partial<Record<keyof OptionsForm, string>> } {
  const errors: Partial<Record<keyof OptionsForm, string>> = {};
  let timeout: number | null = null;
  const t = form.timeout.trim();
  if (t) {
    const n = Number(t);
    if (!/^\d+(\.\d+)?$/.test(t) || !Number.isFinite(n)) {
      errors.timeout = "The timeout is a number of seconds, e.g. 5 or 2.5.";
    } else if (n < TIMEOUT_MIN || n > TIMEOUT_MAX) {
      errors.timeout = `The timeout must be between ${TIMEOUT_MIN} and ${TIMEOUT_MAX} seconds.`;
    } else {
      timeout = n;
    }
  }
  const ca = form.caFile.trim();
  if (ca && !/^(\/|~|[A-Za-z]:[\\/]|\\\\)/.test(ca)) {
    errors.caFile = "Give the full path of the PEM file, e.g. /etc/ssl/private-ca.pem.";
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    options: { proxy_protocol: form.proxy === "auto" ? null : form.proxy, timeout_secs: timeout, ca_pem: null, concurrency: null },
    caFile: ca || null,
  };
}

/** How many options differ from the defaults (shown on the closed disclosure). */
export function changedOptions(form: OptionsForm): number {
  return (form.timeout.trim() ? 1 : 0) + (form.proxy !== "auto" ? 1 : 0) + (form.caFile.trim() ? 1 : 0);
}

// ---- TLS termination: the load balancer's certificate vs the droplets' ---------------------

export interface ComparisonLike {
  label: string;
  error?: string | null;
  same: boolean;
  differences: string[];
}

export type TerminationLike =
  | { kind: "plain_http"; target_protocol: string; target_port: number }
  | { kind: "re_encrypt"; target_port: number; domain: string; compared: ComparisonLike[] }
  | { kind: "failed"; message: string };

/** One line about a terminating load balancer, and how it reads (ok / warn / neutral). */
export function terminationSummary(
  certName: string | null,
  b: TerminationLike,
): { text: string; tone: "ok" | "warn" | "neutral" } {
  const cert = certName ? `certificate ${certName}` : "certificate";
  switch (b.kind) {
    case "plain_http":
      return {
        text: `Decrypts with its ${cert} and forwards plain ${b.target_protocol.toUpperCase()} to port ${b.target_port}: the droplets serve no certificate, so there is nothing to compare.`,
        tone: "neutral",
      };
    case "failed":
      return { text: `Could not compare: ${b.message}`, tone: "warn" };
    case "re_encrypt": {
      const n = b.compared.length;
      const same = b.compared.filter((c) => c.same).map((c) => c.label);
      const unread = b.compared.filter((c) => c.error).map((c) => c.label);
      const differ = b.compared.filter((c) => !c.same && !c.error).map((c) => c.label);
      if (same.length === n) return { text: `All ${n} droplets serve the load balancer's ${cert}.`, tone: "ok" };
      const parts = [`${same.length} of ${n} droplets serve the load balancer's ${cert}`];
      if (differ.length) parts.push(`${differ.join(", ")} ${differ.length === 1 ? "serves" : "serve"} another one`);
      if (unread.length) parts.push(`${unread.join(", ")} could not be read`);
      return { text: parts.join("; ") + ".", tone: "warn" };
    }
  }
}

/** A certificate as reports carry it: what sharing compares (structurally a `CertInfo`). */
interface CertLike {
  sha256: string;
  pem: string;
}

interface ReportCerts<C extends CertLike> {
  leaf?: C | null;
  probe: { chain: C[]; default_certificate?: { leaf?: C | null } | null };
}

/**
 * Each certificate once per check (issue 20): a report carries the certificate a backend serves
 * up to three times (its leaf, the chain's first, the one served without SNI), and a healthy
 * fleet of 200 serves the same one — 600 parsed copies of it, PEM included, for as long as the
 * view shows the report. `share` puts one object per certificate (by SHA-256 and PEM) in every
 * place, so the copies the IPC answer parsed are left to the collector. Objects are replaced,
 * never changed: a shared certificate is the same value it replaces.
 */
export class SharedCertificates<C extends CertLike> {
  #bySha = new Map<string, C>();

  /** The one object for this certificate (the first seen). */
  cert(c: C): C {
    if (!c.sha256) return c;
    const seen = this.#bySha.get(c.sha256);
    if (seen && seen.pem === c.pem) return seen;
    if (!seen) this.#bySha.set(c.sha256, c);
    return c;
  }

  /** The backend with its certificates replaced by the shared ones (the same object, changed). */
  backend<B extends ReportCerts<C>>(b: B): B {
    if (b.leaf) b.leaf = this.cert(b.leaf);
    b.probe.chain = b.probe.chain.map((c) => this.cert(c));
    const fallback = b.probe.default_certificate;
    if (fallback?.leaf) fallback.leaf = this.cert(fallback.leaf);
    return b;
  }

  /** Every backend of a report, shared. */
  backends<B extends ReportCerts<C>>(bs: B[]): B[] {
    for (const b of bs) this.backend(b);
    return bs;
  }
}
