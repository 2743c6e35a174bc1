// Search and sort of the load-balancer list on keys computed once per object (issue 20): the
// lower-cased search text and the sort values live in a WeakMap keyed by the object itself, and
// lib/merge keeps unchanged objects identical across refreshes, so a refresh, a keystroke or a
// cleared filter computes nothing again for them. Same fields and order as `searchLbs` and
// `sortLbs` in lib/lb (lblist.test.ts checks they agree).
import type { LbLike, SortKey } from "./lb";

interface Keys {
  search: string;
  name: string;
  status: string;
  ip: number;
  region: string;
  droplets: number;
}

const cache = new WeakMap<object, Keys>();

function ipValue(ip: string): number {
  // Dotted quads numerically; empty (still `new`) last.
  return ip ? ip.split(".").reduce((acc, part) => acc * 256 + (Number(part) || 0), 0) : Number.MAX_SAFE_INTEGER;
}

/** The precomputed keys of one load balancer (computed on first use, then cached). */
export function lbKeys(lb: LbLike): Keys {
  let keys = cache.get(lb);
  if (!keys) {
    keys = {
      // The fields joined by a character no query contains, so a match never spans two fields.
      search: [lb.name, lb.ip, lb.region?.slug ?? "", lb.region?.name ?? "", lb.tag, lb.id, lb.status]
        .join("\u0000")
        .toLowerCase(),
      name: lb.name.toLowerCase(),
      status: lb.status,
      ip: ipValue(lb.ip),
      region: lb.region?.slug ?? "",
      droplets: lb.droplet_count,
    };
    cache.set(lb, keys);
  }
  return keys;
}

/** The load balancers matching `query` (case-insensitive, any field), in the given order. */
export function filterLbs<T extends LbLike>(lbs: readonly T[], query: string): readonly T[] {
  const q = query.trim().toLowerCase();
  if (!q) return lbs;
  return lbs.filter((lb) => lbKeys(lb).search.includes(q));
}

/** Sorted by `key`, ties by name; a new array (the input is left alone). */
export function orderLbs<T extends LbLike>(lbs: readonly T[], key: SortKey, ascending: boolean): T[] {
  const decorated = lbs.map((lb) => ({ lb, k: lbKeys(lb) }));
  decorated.sort((a, b) => {
    const va = a.k[key];
    const vb = b.k[key];
    let cmp = va < vb ? -1 : va > vb ? 1 : 0;
    if (cmp === 0) cmp = a.k.name < b.k.name ? -1 : a.k.name > b.k.name ? 1 : a.lb.name < b.lb.name ? -1 : a.lb.name > b.lb.name ? 1 : 0;
    return ascending ? cmp : -cmp;
  });
  return decorated.map((d) => d.lb);
}
