// The last rehearsal test request per domain (this run only), so the DNS cutover's readiness
// checklist can include it: a request through the local balancer that failed is a red item.
import type { RehearsalResult } from "./dns";
import { normDomain } from "./domain";

export const rehearsed = $state<{ byDomain: Record<string, RehearsalResult> }>({ byDomain: {} });

export function recordRehearsal(domain: string, ok: boolean) {
  const d = normDomain(domain);
  if (d) rehearsed.byDomain[d] = { ok, at: new Date().toISOString() };
}
