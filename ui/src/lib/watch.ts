// The Watch view's pure logic: what a site's history, expiry timeline and badges show. Kept out
// of the component so it is tested without mounting anything.
import type {
  BackendCert_Serialize as BackendCert,
  FindingEpisode_Serialize as FindingEpisode,
  Severity,
  WatchedSite_Serialize as WatchedSite,
} from "./bindings";

/** The class a severity is drawn with (the app's badge/finding classes). */
export function severityClass(severity: Severity | null | undefined): "err" | "warn" | "ok" {
  if (severity === "error" || severity === "critical") return "err";
  if (severity === "warning") return "warn";
  return "ok";
}

/** A site's state in one word: never checked, needs attention, or ok (warnings are ok). */
export function siteStatus(site: WatchedSite): "unchecked" | "attention" | "ok" {
  if (!site.last) return "unchecked";
  return site.last.findings.some((f) => f.attention) ? "attention" : "ok";
}

/** A site's episodes, the open ones first, then newest first: what the history lists. */
export function siteHistory(episodes: FindingEpisode[], lbId: string): FindingEpisode[] {
  return episodes
    .filter((e) => e.lb_id === lbId)
    .sort((a, b) => {
      const openA = a.cleared_at_unix == null ? 1 : 0;
      const openB = b.cleared_at_unix == null ? 1 : 0;
      if (openA !== openB) return openB - openA;
      return (b.cleared_at_unix ?? b.appeared_at_unix ?? 0) - (a.cleared_at_unix ?? a.appeared_at_unix ?? 0);
    });
}

/** How long an episode lasted (or has lasted, until `now`), in words. */
export function episodeSpan(e: FindingEpisode, nowUnix: number): string {
  const end = e.cleared_at_unix ?? nowUnix;
  return duration(Math.max(0, end - (e.appeared_at_unix ?? end)));
}

export function duration(secs: number): string {
  if (secs < 60) return "under a minute";
  if (secs < 3600) return `${Math.floor(secs / 60)} min`;
  if (secs < 86400 * 2) return `${Math.floor(secs / 3600)} h`;
  return `${Math.floor(secs / 86400)} days`;
}

/** One bar of the expiry timeline. */
export type ExpiryBar = { label: string; daysLeft: number | null; percent: number; cls: "err" | "warn" | "ok"; notAfter: string | null };

/** The backends' expiries on one scale: the longest remaining (at least 90 days) is the full
 *  width, so one droplet's certificate running out early stands out next to the others. Under
 *  7 days is an error, under 30 a warning (the check's thresholds for a 90-day certificate). */
export function expiryTimeline(backends: BackendCert[]): ExpiryBar[] {
  const scale = Math.max(90, ...backends.map((b) => b.days_left ?? 0));
  return backends.map((b) => {
    const days = b.days_left ?? null;
    const cls = days == null ? "err" : days < 7 ? "err" : days < 30 ? "warn" : "ok";
    return {
      label: b.label,
      daysLeft: days,
      percent: days == null ? 0 : Math.max(2, Math.min(100, (Math.max(0, days) / scale) * 100)),
      cls,
      notAfter: b.not_after ?? null,
    };
  });
}

/** What the user typed, tidied: a domain without scheme, path or final dot. */
export function cleanDomain(text: string): string {
  return text
    .trim()
    .replace(/^https?:\/\//i, "")
    .replace(/\/.*$/, "")
    .replace(/\.$/, "")
    .toLowerCase();
}
