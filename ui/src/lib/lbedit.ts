// Pure logic of the load-balancer editor: which validator findings belong to which field,
// the presets, and how a diff value or a conflict is shown. Typed structurally so the generated
// bindings satisfy it without importing them (keeps the tests free of Tauri).

export interface RuleEdit {
  entry_protocol: string;
  entry_port: number;
  target_protocol: string;
  target_port: number;
  tls_passthrough: boolean;
  certificate_id?: string;
}

export interface HealthCheckEdit {
  protocol?: string;
  port?: number;
  path?: string;
  check_interval_seconds?: number;
  response_timeout_seconds?: number;
  unhealthy_threshold?: number;
  healthy_threshold?: number;
  proxy_protocol?: boolean;
}

export interface EditLike {
  forwardingRules: RuleEdit[];
  healthCheck: HealthCheckEdit | null;
  redirectHttpToHttps: boolean;
}

export interface FindingLike {
  code: string;
  severity: "error" | "warning";
  field: string;
  message: string;
}

export interface ChangeLike {
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * The findings about `field` (a request path such as `health_check` or `forwarding_rules[1]`):
 * the field itself and anything beneath it.
 */
export function findingsFor<F extends FindingLike>(findings: F[], field: string): F[] {
  return findings.filter(
    (f) => f.field === field || f.field.startsWith(field + ".") || f.field.startsWith(field + "["),
  );
}

/** Findings no form field shows, so they are listed at the top of the form. */
export function generalFindings<F extends FindingLike>(findings: F[], shown: string[]): F[] {
  return findings.filter((f) => !shown.some((field) => findingsFor([f], field).length > 0));
}

export function hasErrors(findings: FindingLike[]): boolean {
  return findings.some((f) => f.severity === "error");
}

const isHttpsEntry = (r: RuleEdit) => ["https", "http2", "http3"].includes(r.entry_protocol) && r.entry_port === 443;
const isHttp80 = (r: RuleEdit) => r.entry_protocol === "http" && r.entry_port === 80;

/**
 * "SSL passthrough 443 → 443": whatever listened on 443 becomes HTTPS passthrough to the droplets'
 * 443 (no certificate: the droplets hold it), and the health check moves to TCP 443, since an HTTP
 * check cannot speak to a TLS-only port.
 */
export function presetPassthrough<E extends EditLike>(edit: E): E {
  const rule: RuleEdit = {
    entry_protocol: "https",
    entry_port: 443,
    target_protocol: "https",
    target_port: 443,
    tls_passthrough: true,
  };
  const others = edit.forwardingRules.filter((r) => r.entry_port !== 443);
  return {
    ...edit,
    forwardingRules: [...others, rule],
    healthCheck: { ...(edit.healthCheck ?? {}), protocol: "tcp", port: 443, path: undefined },
  };
}

/**
 * "Redirect HTTP to HTTPS": turns the redirect on and adds the HTTP 80 rule it redirects from when
 * missing. The HTTPS 443 rule it redirects to must already exist (it needs a certificate or
 * passthrough, which only the user can choose); the validator says so when it does not.
 */
export function presetRedirect<E extends EditLike>(edit: E): E {
  const rules = edit.forwardingRules.some(isHttp80)
    ? edit.forwardingRules
    : [
        { entry_protocol: "http", entry_port: 80, target_protocol: "http", target_port: 80, tls_passthrough: false },
        ...edit.forwardingRules,
      ];
  return { ...edit, forwardingRules: rules, redirectHttpToHttps: true };
}

/** Whether a redirect would have both rules it needs (HTTP 80 and HTTPS 443). */
export function redirectComplete(edit: EditLike): boolean {
  return edit.forwardingRules.some(isHttp80) && edit.forwardingRules.some(isHttpsEntry);
}

/** A diff side for people: `(none)` for absent, strings unquoted, the rest as compact JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "(none)";
  if (typeof v === "string") return v === "" ? '""' : v;
  return JSON.stringify(v);
}

/** The changes a `conflict` error carries in `details.changes`. */
export function conflictChanges(details: unknown): ChangeLike[] {
  if (!details || typeof details !== "object") return [];
  const changes = (details as Record<string, unknown>)["changes"];
  if (!Array.isArray(changes)) return [];
  return changes.filter(
    (c): c is ChangeLike => !!c && typeof c === "object" && typeof (c as ChangeLike).path === "string",
  );
}

/** A number input's value: empty means "not set". */
export function optionalNumber(text: string | number | null | undefined): number | undefined {
  if (text === null || text === undefined || text === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** `ip:1.2.3.4, cidr:10.0.0.0/8` ↔ a list, for the firewall fields. */
export function parseList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
