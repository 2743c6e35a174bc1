// Pure logic of the load-balancer views: badges, search, sort, polling cadence.
// Typed structurally so the generated `LoadBalancer` binding satisfies it.

export interface RuleLike {
  entry_protocol: string;
  entry_port: number;
  target_protocol: string;
  target_port: number;
  tls_passthrough: boolean;
  certificate_id?: string | null;
}

/** A row of the load-balancer list (the generated `LbRow`): what the list shows, no more. */
export interface LbLike {
  id: string;
  name: string;
  status: string;
  ip: string;
  region?: { slug: string; name: string } | null;
  type?: string | null;
  size_unit?: number | null;
  size?: string | null;
  droplet_count: number;
  tag: string;
  /** Some forwarding rule passes TLS through undecrypted. */
  passthrough: boolean;
  redirect_http_to_https: boolean;
  enable_proxy_protocol: boolean;
}

/** What the badges are read from: a list row, or a whole load balancer through `badgeFlags`. */
export type BadgeFlags = Pick<LbLike, "passthrough" | "redirect_http_to_https" | "enable_proxy_protocol">;

export type Badge = { label: string; tone: "ok" | "warn" | "err" | "info"; title: string };

/** A whole load balancer's badge flags, read as its list row reads them (core's `LbRow`). */
export function badgeFlags(lb: {
  forwarding_rules: RuleLike[];
  redirect_http_to_https: boolean;
  enable_proxy_protocol: boolean;
}): BadgeFlags {
  return {
    passthrough: lb.forwarding_rules.some((r) => r.tls_passthrough),
    redirect_http_to_https: lb.redirect_http_to_https,
    enable_proxy_protocol: lb.enable_proxy_protocol,
  };
}

export function badges(lb: BadgeFlags): Badge[] {
  const out: Badge[] = [];
  if (lb.passthrough)
    out.push({ label: "SSL passthrough", tone: "info", title: "TLS is forwarded to the droplets undecrypted" });
  if (lb.redirect_http_to_https)
    out.push({ label: "HTTP→HTTPS", tone: "info", title: "Port 80 redirects to 443" });
  if (lb.enable_proxy_protocol)
    out.push({ label: "PROXY", tone: "warn", title: "Droplets must accept the PROXY protocol header" });
  return out;
}

export function statusTone(status: string): "ok" | "warn" | "err" {
  if (status === "active") return "ok";
  if (status === "errored") return "err";
  return "warn";
}

export function sizeLabel(lb: Pick<LbLike, "size_unit" | "size">): string {
  if (lb.size_unit) return `${lb.size_unit} node${lb.size_unit === 1 ? "" : "s"}`;
  return lb.size ?? "—";
}

export function describeRule(r: RuleLike): string {
  const base = `${r.entry_protocol.toUpperCase()} ${r.entry_port} → ${r.target_protocol.toUpperCase()} ${r.target_port}`;
  if (r.tls_passthrough) return `${base} (passthrough)`;
  if (r.certificate_id) return `${base} (certificate)`;
  return base;
}

/** Case-insensitive search over name, IP, region, tag and id. */
export function searchLbs<T extends LbLike>(lbs: T[], query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return lbs;
  return lbs.filter((lb) =>
    [lb.name, lb.ip, lb.region?.slug ?? "", lb.region?.name ?? "", lb.tag, lb.id, lb.status].some((f) =>
      f.toLowerCase().includes(q),
    ),
  );
}

export type SortKey = "name" | "status" | "ip" | "region" | "droplets";

export function sortLbs<T extends LbLike>(lbs: T[], key: SortKey, ascending: boolean): T[] {
  const value = (lb: LbLike): string | number => {
    switch (key) {
      case "name":
        return lb.name.toLowerCase();
      case "status":
        return lb.status;
      case "ip":
        // Sort dotted quads numerically; empty (still `new`) last.
        return lb.ip
          ? lb.ip.split(".").reduce((acc, part) => acc * 256 + (Number(part) || 0), 0)
          : Number.MAX_SAFE_INTEGER;
      case "region":
        return lb.region?.slug ?? "";
      case "droplets":
        return lb.droplet_count;
    }
  };
  const sorted = [...lbs].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const cmp = va < vb ? -1 : va > vb ? 1 : a.name.localeCompare(b.name);
    return ascending ? cmp : -cmp;
  });
  return sorted;
}

/**
 * How long to wait before the next automatic refresh, or null to pause.
 * - paused while the window is hidden;
 * - every 15 s while someone is using the app, slowing to 60 s after 5 minutes idle;
 * - faster (5 s) while a load balancer is still `new` (waiting for it to become active);
 * - never faster than the rate limit allows: below 10 % of the hourly budget, once a minute at most.
 */
export function nextPollDelay(opts: {
  hidden: boolean;
  idleMs: number;
  anyPending: boolean;
  rateRemaining: number | null;
  rateLimit: number | null;
}): number | null {
  if (opts.hidden) return null;
  let delay = opts.idleMs > 5 * 60_000 ? 60_000 : 15_000;
  if (opts.anyPending) delay = Math.min(delay, 5_000);
  if (opts.rateRemaining !== null && opts.rateLimit) {
    if (opts.rateRemaining <= 0) return 60_000;
    if (opts.rateRemaining < opts.rateLimit * 0.1) delay = Math.max(delay, 60_000);
  }
  return delay;
}

/**
 * The tab a key moves to in a tab list (the WAI-ARIA tabs pattern: arrows wrap, Home and End
 * jump to the ends); `null` for any other key, which the tab list leaves alone.
 */
export function tabAfterKey<T>(tabs: readonly T[], current: T, key: string): T | null {
  const i = tabs.indexOf(current);
  if (i < 0) return null;
  switch (key) {
    case "ArrowRight":
      return tabs[(i + 1) % tabs.length];
    case "ArrowLeft":
      return tabs[(i - 1 + tabs.length) % tabs.length];
    case "Home":
      return tabs[0];
    case "End":
      return tabs[tabs.length - 1];
    default:
      return null;
  }
}
