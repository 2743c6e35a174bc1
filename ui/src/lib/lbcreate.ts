// A create whose answer never came clearly (`maybe_applied`: a timeout, a reset or a 5xx after
// the request was sent) may have created the load balancer. Before offering Retry — which could
// make a second, billed one — the create form lists the load balancers again and shows any with
// the name just submitted (issue 14, item 2).
import { errorCode } from "./errors";

/** Whether a failed create calls for a fresh list before a retry. */
export function needsRelist(err: unknown): boolean {
  return errorCode(err) === "maybe_applied";
}

/** The load balancers named `name` (as submitted, surrounding spaces aside). */
export function namedLike<T extends { name: string }>(lbs: readonly T[], name: string): T[] {
  const wanted = name.trim();
  if (!wanted) return [];
  return lbs.filter((lb) => lb.name.trim() === wanted);
}

/** What the fresh list says about the create, and what Retry is then called. */
export interface RelistVerdict {
  /** True when a load balancer with that name exists now. */
  exists: boolean;
  sentence: string;
  /** The retry button's text: a plain Retry only when nothing with that name exists. */
  retryLabel: string;
}

export function relistVerdict(name: string, matches: readonly unknown[]): RelistVerdict {
  const shown = name.trim();
  if (matches.length === 1)
    return {
      exists: true,
      sentence: `A load balancer named ${shown} exists now: it was probably created.`,
      retryLabel: "Create another anyway",
    };
  if (matches.length > 1)
    return {
      exists: true,
      sentence: `${matches.length} load balancers named ${shown} exist now: it was probably created.`,
      retryLabel: "Create another anyway",
    };
  return {
    exists: false,
    sentence: `No load balancer named ${shown} is listed: it was probably not created. A new one can take a moment to appear; check again before retrying if unsure.`,
    retryLabel: "Retry",
  };
}
