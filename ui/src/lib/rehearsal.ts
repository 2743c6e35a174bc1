// Pure logic of the Rehearsal view: the connection log (bounded, filtered), auto-scroll, and
// throughput from two stats snapshots.

import type { Algorithm, BalancerConfig_Deserialize, BalancerConfig_Serialize, HealthCheckProtocol } from "./bindings";
import { normDomain } from "./domain";

export interface LogRecord {
  id: number;
  time: string;
  client: string;
  sni: string | null;
  backend: string | null;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  outcome: string;
}

/** Outcomes that mean the connection was relayed to a backend. */
const RELAYED = new Set(["relayed", "relay_error", "idle_timeout", "drained"]);

export function isRelayed(outcome: string): boolean {
  return RELAYED.has(outcome);
}

export type OutcomeFilter = "all" | "relayed" | "refused";

export interface LogFilter {
  text: string;
  outcome: OutcomeFilter;
}

/**
 * The records matching the filter: `text` (case-insensitive) in the client, SNI, backend or
 * outcome; `outcome` relayed or refused.
 */
export function filterLog(records: LogRecord[], filter: LogFilter): LogRecord[] {
  const needle = filter.text.trim().toLowerCase();
  return records.filter((r) => {
    if (filter.outcome === "relayed" && !isRelayed(r.outcome)) return false;
    if (filter.outcome === "refused" && isRelayed(r.outcome)) return false;
    if (!needle) return true;
    return [r.client, r.sni ?? "", r.backend ?? "", r.outcome].some((s) => s.toLowerCase().includes(needle));
  });
}

/** Appends a record, keeping at most `max` (the oldest go first). */
export function appendBounded<T>(list: T[], item: T, max: number): T[] {
  const next = list.length >= max ? list.slice(list.length - max + 1) : list.slice();
  next.push(item);
  return next;
}

/**
 * Whether the log should keep following new lines: only while the user is at (or within a few
 * pixels of) the bottom. Scrolling up pauses it; scrolling back down resumes it.
 */
export function atBottom(scrollTop: number, scrollHeight: number, clientHeight: number, slack = 8): boolean {
  return scrollHeight - scrollTop - clientHeight <= slack;
}

export interface Totals {
  bytesIn: number;
  bytesOut: number;
  /** Null only if the backend sent a non-finite number. */
  uptimeMs: number | null;
}

/** Bytes per second both ways between two snapshots; 0 when time did not move forward. */
export function throughput(prev: Totals | null, cur: Totals): number {
  if (!prev) return 0;
  const dt = ((cur.uptimeMs ?? 0) - (prev.uptimeMs ?? 0)) / 1000;
  if (dt <= 0) return 0;
  const bytes = cur.bytesIn + cur.bytesOut - prev.bytesIn - prev.bytesOut;
  return Math.max(0, bytes / dt);
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Parses `HOST:PORT` of a listen address; null when it is not one. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1], port };
}

// ---- The balancer config as a form -----------------------------------------------------------
// The form holds what people edit (as typed, strings); everything else of the config (timeouts,
// connection limit, redirect listener, per-backend health-check addresses) is carried over from
// the config the form was made from.

export interface BackendRow {
  name: string;
  host: string;
  port: string;
  /** Carried over while the address is unchanged. */
  display?: string | null;
  healthCheckAddr?: string | null;
  /** The address it was built with, to tell whether the user changed it. */
  originalAddr?: string | null;
}

export interface RehearsalForm {
  listenHost: string;
  listenPort: string;
  domains: string[];
  backends: BackendRow[];
  proxy: "off" | "v1" | "v2";
  algorithm: Algorithm;
  health: {
    enabled: boolean;
    protocol: HealthCheckProtocol;
    /** Seconds. */
    interval: string;
    path: string;
    /** Empty: each backend's own port. */
    port: string;
  };
}

export interface FormErrors {
  listen?: string;
  domains?: string;
  /** Per domain row. */
  domainRows?: (string | null)[];
  backends?: string;
  /** Per backend row. */
  backendRows?: ({ name?: string; addr?: string } | null)[];
  interval?: string;
  path?: string;
  healthPort?: string;
}

/** Splits `1.2.3.4:443` / `[::1]:443` into host and port. */
export function splitAddr(addr: string): { host: string; port: string } {
  const m = /^\[(.*)\]:(\d*)$/.exec(addr) ?? /^([^:]*):(\d*)$/.exec(addr);
  return m ? { host: m[1], port: m[2] } : { host: addr, port: "" };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function joinAddr(host: string, port: string | number): string {
  const h = host.trim();
  return `${h.includes(":") ? `[${h}]` : h}:${String(port).trim()}`;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IPv4 address, or something shaped like an IPv6 one (the backend checks it exactly). */
export function isIp(host: string): boolean {
  const h = host.trim();
  return IPV4.test(h) || (/^[0-9a-fA-F:.]+$/.test(h) && h.includes(":") && h.split("::").length <= 2);
}

function portError(text: string, allowZero: boolean): string | null {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) return "The port is a number from " + (allowZero ? "0" : "1") + " to 65535.";
  const n = Number(t);
  if (n > 65535 || (!allowZero && n === 0)) return "The port is a number from " + (allowZero ? "0" : "1") + " to 65535.";
  return null;
}

/** A domain the balancer accepts: a name, or `*.` and a name (one label deep). */
export function domainError(d: string): string | null {
  const name = normDomain(d);
  if (!name) return "Give a domain, or remove the row.";
  const bare = name.startsWith("*.") ? name.slice(2) : name;
  const ok =
    bare.length > 0 &&
    bare.length <= 253 &&
    bare.split(".").every((l) => l.length > 0 && l.length <= 63 && /^[a-z0-9_-]+$/.test(l));
  return ok ? null : `“${d.trim()}” is not a domain name (e.g. shop.example.com or *.example.com).`;
}

/** The form showing `config`. */
export function formFromConfig(config: BalancerConfig_Serialize): RehearsalForm {
  const listen = splitAddr(config.listen);
  const hc = config.healthCheck;
  return {
    listenHost: listen.host,
    listenPort: listen.port,
    domains: config.domains.length ? [...config.domains] : [""],
    backends: config.backends.map((b) => {
      const a = splitAddr(b.addr);
      return {
        name: b.name,
        host: a.host,
        port: a.port,
        display: b.display ?? null,
        healthCheckAddr: b.healthCheckAddr ?? null,
        originalAddr: b.addr,
      };
    }),
    proxy: config.proxyProtocol ?? "off",
    algorithm: config.algorithm,
    health: {
      enabled: hc !== null,
      protocol: hc?.protocol ?? "tcp",
      interval: String((hc?.intervalMs ?? 10_000) / 1000),
      path: hc?.path ?? "/",
      port: hc?.port != null ? String(hc.port) : "",
    },
  };
}

/** The port every backend uses, or null when they differ (or there are none). */
export function commonPort(rows: BackendRow[]): string | null {
  const ports = new Set(rows.map((r) => r.port.trim()));
  return ports.size === 1 ? [...ports][0] : null;
}

/** Every backend on `port` (the load balancer's target port). */
export function withTargetPort(rows: BackendRow[], port: string): BackendRow[] {
  return rows.map((r) => ({ ...r, port: port.trim() }));
}

/** A backend row with a fresh name. */
export function newBackendRow(rows: BackendRow[]): BackendRow {
  let n = rows.length + 1;
  while (rows.some((r) => r.name === `backend-${n}`)) n++;
  return { name: `backend-${n}`, host: "", port: commonPort(rows) ?? "443" };
}

/**
 * The config the form describes, on top of `base` (which supplies the fields the form does not
 * show), or the errors to show next to the fields.
 */
export function configFromForm(
  form: RehearsalForm,
  base: BalancerConfig_Serialize,
): { ok: true; config: BalancerConfig_Deserialize } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {};
  if (!isIp(form.listenHost)) errors.listen = "Listen on an IP address, e.g. 127.0.0.1.";
  else {
    const p = portError(form.listenPort, true);
    if (p) errors.listen = p + " Port 0 lets the system pick a free one.";
  }

  const domains = form.domains.map((d) => d.trim()).filter((d, i, all) => d && all.indexOf(d) === i);
  const domainRows = form.domains.map((d) => (d.trim() || form.domains.length === 1 ? domainError(d) : null));
  if (domainRows.some((e) => e)) errors.domainRows = domainRows;
  if (!domains.length) errors.domains = "Give at least one domain: the balancer only routes the names it is told.";

  const seen = new Set<string>();
  const backendRows = form.backends.map((b) => {
    const e: { name?: string; addr?: string } = {};
    const name = b.name.trim();
    if (!name) e.name = "Give the backend a name.";
    else if (seen.has(name)) e.name = `The name ${name} is used twice.`;
    seen.add(name);
    if (!isIp(b.host)) e.addr = "Use an IP address (names are not resolved).";
    else {
      const p = portError(b.port, false);
      if (p) e.addr = p;
    }
    return e.name || e.addr ? e : null;
  });
  if (backendRows.some((e) => e)) errors.backendRows = backendRows;
  if (!form.backends.length) errors.backends = "Add at least one backend.";

  let healthCheck: BalancerConfig_Deserialize["healthCheck"] = null;
  if (form.health.enabled) {
    const t = form.health.interval.trim();
    const secs = Number(t);
    if (!/^\d+(\.\d+)?$/.test(t) || secs < 1 || secs > 300)
      errors.interval = "The interval is 1 to 300 seconds.";
    const path = form.health.path.trim();
    if (form.health.protocol !== "tcp" && (!path.startsWith("/") || /[\s\x00-\x1f]/.test(path)))
      errors.path = "The path starts with / and has no spaces.";
    if (form.health.port.trim() && portError(form.health.port, false)) errors.healthPort = "The port is a number from 1 to 65535, or empty.";
    const prev = base.healthCheck;
    healthCheck = {
      protocol: form.health.protocol,
      port: form.health.port.trim() ? Number(form.health.port) : null,
      path: path || "/",
      intervalMs: Math.round(secs * 1000),
      timeoutMs: Math.min(prev?.timeoutMs ?? 5000, Math.round(secs * 1000)),
      healthyThreshold: prev?.healthyThreshold ?? 3,
      unhealthyThreshold: prev?.unhealthyThreshold ?? 5,
    };
  }

  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    config: {
      ...base,
      listen: joinAddr(form.listenHost, form.listenPort),
      domains,
      backends: form.backends.map((b) => {
        const addr = joinAddr(b.host, b.port);
        const same = addr === b.originalAddr;
        return {
          name: b.name.trim(),
          addr,
          ...(same && b.display ? { display: b.display } : {}),
          ...(same && b.healthCheckAddr ? { healthCheckAddr: b.healthCheckAddr } : {}),
        };
      }),
      proxyProtocol: form.proxy === "off" ? null : form.proxy,
      algorithm: form.algorithm,
      healthCheck,
    },
  };
}

/** A config to fill in by hand (the balancer's own defaults). */
export function emptyConfig(): BalancerConfig_Serialize {
  return {
    listen: "127.0.0.1:8443",
    domains: [],
    backends: [],
    algorithm: "round_robin",
    healthCheck: null,
    proxyProtocol: null,
    redirectHttpListen: null,
    allowNoSni: false,
    maxConnections: 10_000,
    clientHelloTimeoutMs: 5_000,
    connectTimeoutMs: 5_000,
    idleTimeoutMs: 60_000,
  };
}

/**
 * The `Alt-Svc` value when the site offers HTTP/3 (`h3`, or a draft such as `h3-29`), else null.
 * A browser that sees it may try QUIC, over UDP, which a TCP passthrough balancer never carries:
 * it gets no answer and falls back to TCP, so the rehearsal should say so rather than look slow.
 */
export function http3Offer(headers: [string, string][]): string | null {
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== "alt-svc") continue;
    // Alternatives are comma-separated `protocol-id="authority"; params`; "clear" offers none.
    const offersH3 = value.split(",").some((alt) => /^h3(-\w+)?=/.test(alt.trim().toLowerCase()));
    if (offersH3) return value;
  }
  return null;
}
