// Pure view logic of the DNS cutover page: domain suggestion, answers and diff rows as text, the
// readiness summary, what may be applied, and which step of the flow is current.
import type {
  DnsAnswer,
  DnsPlan_Serialize as DnsPlan,
  DomainRecord_Serialize as DomainRecord,
  HttpsCheck_Serialize as HttpsCheck,
  LbChoice,
  NameView_Serialize as NameView,
  ReadinessItem_Serialize as ReadinessItem,
  RecordChange_Serialize as RecordChange,
  RecordValue,
  VerifyProgress,
} from "./bindings";
import { normDomain } from "./domain";

/** What each readiness item checks, as a label. */
export const READINESS_LABELS: Record<string, string> = {
  lb_active: "Load balancer is active",
  rules_serve_domain: "Forwarding rules serve the domain",
  certificates: "Backend certificates",
  rehearsal: "Rehearsal request",
  ttl: "Current TTL",
  lets_encrypt_zone: "Let's Encrypt: zone at DigitalOcean",
  caa: "Let's Encrypt: CAA records",
  lets_encrypt_renewal: "Let's Encrypt renewals on the droplets",
};

/**
 * Items core reports as `ok` that are warnings to read, not passes: the droplets renew their own
 * Let's Encrypt certificates, which breaks behind the load balancer (HTTP-01 lands on another droplet).
 */
export const WARNING_ITEMS = new Set(["lets_encrypt_renewal"]);

export type ReadinessKind = "ok" | "warn" | "bad";

/** How a readiness item is shown: a pass, a warning (amber, never blocking) or a red item. */
export function readinessKind(item: ReadinessItem): ReadinessKind {
  if (!item.ok) return "bad";
  return WARNING_ITEMS.has(item.id) ? "warn" : "ok";
}

/**
 * The record that fixes a red `caa` item, as core writes it in the reason
 * (`example.com. CAA 0 issue "letsencrypt.org"`), to copy; null when there is none.
 */
export function caaFixRecord(item: ReadinessItem): string | null {
  if (item.id !== "caa" || item.ok) return null;
  const m = /(\S+\.?\s+CAA\s+\d+\s+issue(?:wild)?\s+"[^"]*")/.exec(item.reason);
  return m ? m[1] : null;
}

/**
 * A proxied name's words, the same in the app and the CLI: core's
 * "proxied by Cloudflare: cannot confirm the origin" → "Proxied by Cloudflare — cannot confirm the origin".
 */
export function proxiedLabel(proxied: string): string {
  const s = proxied.replace(": ", " — ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface PointsBadge {
  kind: "ok" | "warn" | "proxied";
  text: string;
}

/** The "Points to LB" cell: yes, not yet, or proxied (neither: the origin cannot be seen). */
export function pointsBadge(n: Pick<NameView, "points_to_lb" | "proxied">): PointsBadge {
  if (n.points_to_lb) return { kind: "ok", text: "yes" };
  if (n.proxied) return { kind: "proxied", text: proxiedLabel(n.proxied) };
  return { kind: "warn", text: "not yet" };
}

export function readinessLabel(id: string): string {
  return READINESS_LABELS[id] ?? id;
}

/** `@` → `example.com`, `www` → `www.example.com`. */
export function fqdn(name: string, domain: string): string {
  return name === "@" || name === "" ? domain : `${name}.${domain}`;
}

/**
 * The domain to preselect for a load balancer: one of its own domains that the account hosts,
 * else the hosted zone that contains one of them, else its first domain; a load balancer with no
 * domains of its own (SSL passthrough) gets the account's only domain, or the first one.
 */
export function suggestDomain(choice: LbChoice | undefined, hosted: string[]): string {
  const zones = hosted.map(normDomain);
  const own = (choice?.domains ?? []).map(normDomain).filter((d) => d && !d.startsWith("*."));
  const exact = own.find((d) => zones.includes(d));
  if (exact) return exact;
  for (const d of own) {
    const zone = zones.find((z) => d.endsWith(`.${z}`));
    if (zone) return zone;
  }
  if (own.length) return own[0];
  return zones[0] ?? "";
}

/** Every domain worth offering in the input's list: the LB's own and the account's. */
export function domainOptions(choice: LbChoice | undefined, hosted: string[]): string[] {
  const all = [...(choice?.domains ?? []), ...hosted].map(normDomain).filter((d) => d && !d.startsWith("*."));
  return [...new Set(all)].sort();
}

/** `A 203.0.113.7 · TTL 300`. */
export function answerText(a: DnsAnswer | RecordValue): string {
  return `${a.kind} ${a.data} · TTL ${a.ttl}`;
}

/** One name's answers as lines, or why there are none. */
export function answerLines(answers: DnsAnswer[], error: string | null): string[] {
  if (answers.length) return answers.map(answerText);
  return [error ? error : "no A/AAAA/CNAME answer"];
}

export interface DiffRow {
  /** Fully qualified name. */
  name: string;
  action: RecordChange["action"];
  before: string | null;
  after: string | null;
  /** Only the TTL changes (the TTL step). */
  ttlOnly: boolean;
}

export function diffRows(changes: RecordChange[], domain: string): DiffRow[] {
  return changes.map((c) => ({
    name: fqdn(c.name, domain),
    action: c.action,
    before: c.before ? answerText(c.before) : null,
    after: c.after ? answerText(c.after) : null,
    ttlOnly:
      !!c.before && !!c.after && c.before.kind === c.after.kind && c.before.data === c.after.data && c.before.ttl !== c.after.ttl,
  }));
}

export interface ReadinessSummary {
  ok: boolean;
  passed: number;
  total: number;
  failing: string[];
  /** Items that pass but carry a warning to read (they never block). */
  warnings: string[];
  text: string;
}

export function readinessSummary(items: ReadinessItem[]): ReadinessSummary {
  const failing = items.filter((i) => !i.ok).map((i) => i.id);
  const warnings = items.filter((i) => readinessKind(i) === "warn").map((i) => i.id);
  const passed = items.length - failing.length;
  const ok = items.length > 0 && failing.length === 0;
  const warned = warnings.length ? ` (warning: ${warnings.map(readinessLabel).join(", ")})` : "";
  const text = !items.length
    ? "Not checked yet"
    : ok
      ? `Ready: all ${items.length} checks pass${warned}`
      : `${failing.length} of ${items.length} checks need attention: ${failing.map(readinessLabel).join(", ")}${warned}`;
  return { ok, passed, total: items.length, failing, warnings, text };
}

/** The verify badge: a check where some names are proxied says so, not plain "verified". */
export function verifyBadge(v: { dns_ok: boolean; unconfirmed?: string[] | null }): { kind: "ok" | "err"; text: string } {
  if (!v.dns_ok) return { kind: "err", text: "DNS not switched yet" };
  const n = v.unconfirmed?.length ?? 0;
  return { kind: "ok", text: n ? `DNS verified where visible (${n} unconfirmed)` : "DNS verified" };
}

/** Seconds → `1 h 5 min`, `5 min`, `40 s`. */
export function duration(secs: number): string {
  if (secs < 60) return `${secs} s`;
  const h = Math.floor(secs / 3600);
  const m = Math.round((secs % 3600) / 60);
  if (h === 0) return `${m} min`;
  return m ? `${h} h ${m} min` : `${h} h`;
}

export type Phase =
  | "idle"
  | "applying"
  | "applied"
  | "apply_failed"
  | "verifying"
  | "verified"
  | "verify_failed"
  | "rolling_back"
  | "rolled_back";

export interface ApplyGate {
  ok: boolean;
  reason: string | null;
}

/**
 * Whether the cutover (or only its TTL step) may be applied now. Red readiness items block the
 * cutover unless the user overrides; the TTL step is allowed regardless (it changes no address).
 */
export function applyGate(
  opts: {
    plan: DnsPlan | null;
    hosted: boolean;
    readiness: ReadinessItem[] | null;
    override: boolean;
    busy: boolean;
  },
  ttlStepOnly: boolean,
): ApplyGate {
  const { plan, hosted, readiness, override, busy } = opts;
  if (busy) return { ok: false, reason: "busy" };
  if (!plan) return { ok: false, reason: "Make a plan first." };
  if (!hosted) return { ok: false, reason: "The domain is not in this account's Domains: set the records at its DNS provider." };
  if (ttlStepOnly) {
    return plan.ttl_step ? { ok: true, reason: null } : { ok: false, reason: "The TTL is already low: no TTL step." };
  }
  if (!plan.changes.length) return { ok: false, reason: "Nothing to change: the records already point at the load balancer." };
  if (!readiness) return { ok: false, reason: "Run the readiness checks first." };
  const red = readiness.filter((i) => !i.ok);
  if (red.length && !override) {
    return { ok: false, reason: `Readiness: ${red.map((i) => readinessLabel(i.id)).join(", ")} not green.` };
  }
  return { ok: true, reason: null };
}

export type StepId = "pick" | "where" | "ready" | "plan" | "apply" | "rollback";
export type StepState = "done" | "current" | "todo";

export const STEPS: { id: StepId; label: string }[] = [
  { id: "pick", label: "Load balancer and domain" },
  { id: "where", label: "Where it points now" },
  { id: "ready", label: "Readiness" },
  { id: "plan", label: "Plan" },
  { id: "apply", label: "Apply and verify" },
  { id: "rollback", label: "Roll back" },
];

/** Which steps are done and which one is current, from what the page has so far. */
export function stepStates(s: {
  picked: boolean;
  statusLoaded: boolean;
  readiness: ReadinessItem[] | null;
  plan: DnsPlan | null;
  phase: Phase;
  savedRollback: boolean;
}): Record<StepId, StepState> {
  const applied = ["applied", "verifying", "verified", "verify_failed"].includes(s.phase);
  const done: Record<StepId, boolean> = {
    pick: s.picked,
    where: s.picked && s.statusLoaded,
    ready: !!s.readiness && readinessSummary(s.readiness).ok,
    plan: !!s.plan,
    apply: s.phase === "verified",
    rollback: s.phase === "rolled_back",
  };
  let current: StepId | null = null;
  if (applied && s.phase !== "verified") current = "apply";
  else if (s.phase === "verified" || s.phase === "rolling_back") current = s.savedRollback ? "rollback" : null;
  else {
    for (const st of STEPS) {
      if (st.id === "rollback") break;
      if (!done[st.id]) {
        current = st.id;
        break;
      }
    }
  }
  const out = {} as Record<StepId, StepState>;
  for (const st of STEPS) out[st.id] = done[st.id] ? "done" : st.id === current ? "current" : "todo";
  return out;
}

/** `Poll 3: ready example.com · waiting www.example.com`. */
export function progressLine(p: VerifyProgress): string {
  const parts = [`Poll ${p.attempt}:`];
  if (p.ready.length) parts.push(`ready ${p.ready.join(", ")}`);
  if (p.waiting.length) parts.push(`${p.ready.length ? "· " : ""}waiting ${p.waiting.join(", ")}`);
  return parts.join(" ");
}

/** The HTTPS check as one line: status and the served certificate. */
export function httpsLine(h: HttpsCheck): string {
  const status = h.status !== null ? `HTTP ${h.status}` : "no response";
  const head = `${h.ok ? "OK" : "Failed"}: ${status} from ${h.url} at ${h.addr}`;
  return h.error ? `${head} — ${h.error}` : head;
}

export function certificateLine(h: HttpsCheck): string | null {
  const c = h.certificate;
  if (!c) return null;
  const names = c.sans.length ? c.sans.join(", ") : c.subject;
  return `Certificate for ${names}, issued by ${c.issuer}, valid until ${c.not_after.slice(0, 10)}`;
}

/** The verify window the user typed: whole seconds in 1..3600, or null when it is not one. */
export function verifyWindow(value: unknown): number | null {
  const n = typeof value === "number" ? value : Number(String(value ?? "").trim());
  if (!Number.isFinite(n) || !Number.isInteger(n) || n < 1 || n > 3600) return null;
  return n;
}

export interface RehearsalResult {
  ok: boolean;
  /** ISO time of the request. */
  at: string;
}

/**
 * The rehearsal outcome that applies to a cutover of `names` of `domain`: the latest request
 * made to one of those names; null when none was made (the item is then optional).
 */
export function rehearsalFor(results: Record<string, RehearsalResult>, domain: string, names: string[]): boolean | null {
  const d = normDomain(domain);
  const wanted = new Set((names.length ? names : ["@", "www"]).map((n) => fqdn(normDomain(n), d)));
  let latest: RehearsalResult | null = null;
  for (const [name, r] of Object.entries(results)) {
    if (wanted.has(normDomain(name)) && (!latest || r.at > latest.at)) latest = r;
  }
  return latest ? latest.ok : null;
}

/** One record of the zone as the records table shows it, with its search text computed once. */
export interface RecordRow {
  /** Stable across reloads: the API id, else type, name and data. */
  key: string;
  /** Fully qualified name. */
  name: string;
  type: string;
  /** The data with priority, port, weight, flags or tag where the type has them. */
  data: string;
  ttl: number;
  /** The plan updates or deletes this record ("change"), or it is at a name the plan covers ("name"). */
  plan: "change" | "name" | null;
  /** Lower-cased name, type and data, separated so a query never matches across two of them. */
  search: string;
}

function recordData(r: DomainRecord): string {
  const parts: string[] = [];
  if (r.type === "CAA") parts.push(String(r.flags ?? 0), r.tag ?? "");
  if (r.type === "MX" || r.type === "SRV") parts.push(String(r.priority ?? 0));
  if (r.type === "SRV") parts.push(String(r.weight ?? 0), String(r.port ?? 0));
  parts.push(r.data);
  return parts.join(" ");
}

/**
 * The zone's records as rows (issue 20: a zone may hold thousands): the apex first, then by name and type, the
 * records the plan changes marked, each with its search text, so filtering is a substring test.
 */
export function recordRows(records: readonly DomainRecord[], domain: string, plan: DnsPlan | null): RecordRow[] {
  const changed = new Set<number>();
  for (const c of plan?.changes ?? []) if (c.record_id !== null) changed.add(c.record_id);
  const planned = new Set((plan?.names ?? []).map((n) => normDomain(n)));
  const rows = records.map((r): RecordRow => {
    const name = fqdn(r.name, domain);
    const data = recordData(r);
    return {
      key: r.id !== null ? `id${r.id}` : `${r.type}\u0000${r.name}\u0000${r.data}`,
      name,
      type: r.type,
      data,
      ttl: r.ttl,
      plan: r.id !== null && changed.has(r.id) ? "change" : planned.has(normDomain(r.name)) ? "name" : null,
      search: [name, r.type, data].join("\u0000").toLowerCase(),
    };
  });
  // The apex first (what a cutover changes most), then by name and type.
  const apex = domain.toLowerCase();
  const order = (r: RecordRow) => (r.name.toLowerCase() === apex ? "" : r.name.toLowerCase());
  return rows.sort((a, b) => {
    const na = order(a);
    const nb = order(b);
    return na < nb ? -1 : na > nb ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
  });
}

/** The rows whose name, type or data contain every word of `query` (case-insensitive). */
export function filterRecords(rows: readonly RecordRow[], query: string): readonly RecordRow[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return rows;
  return rows.filter((r) => words.every((w) => r.search.includes(w)));
}
