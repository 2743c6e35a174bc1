// Merging a freshly fetched list into the one on screen (issue 20): objects that did not change
// keep their identity, so a keyed `{#each}` leaves their rows alone and anything cached per object
// (search keys, see lib/lblist.ts) survives; a refresh that changes nothing returns the very same
// array, so a `$state.raw` holding it is not even invalidated.

/** Structural equality of JSON-like values (what the IPC answers are made of). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // NaN (an f64 field) equals itself here, as it would after a JSON round trip.
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ob = b as Record<string, unknown>;
  const oa = a as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(ob, k) || !deepEqual(oa[k], ob[k])) return false;
  }
  return true;
}

/**
 * `fresh`, with every object equal to the one of the same key in `current` replaced by that one;
 * `current` itself when nothing was added, removed, reordered or changed. The order is `fresh`'s.
 */
export function mergeByKey<T, K>(
  current: readonly T[],
  fresh: readonly T[],
  key: (item: T) => K,
  same: (a: T, b: T) => boolean = deepEqual,
): T[] {
  const byKey = new Map<K, T>();
  for (const item of current) byKey.set(key(item), item);
  let changed = current.length !== fresh.length;
  const out = new Array<T>(fresh.length);
  for (let i = 0; i < fresh.length; i++) {
    const next = fresh[i];
    const prev = byKey.get(key(next));
    const kept = prev !== undefined && same(prev, next) ? prev : next;
    out[i] = kept;
    if (!changed && current[i] !== kept) changed = true;
  }
  // The caller's array is returned as is: it is never mutated here, and the same reference tells
  // `$state.raw` (and `$derived`s reading it) that nothing happened.
  return changed ? out : (current as T[]);
}

/** `mergeByKey` for the API's objects, keyed by their `id`. */
export function mergeById<T extends { id: string | number }>(current: readonly T[], fresh: readonly T[]): T[] {
  return mergeByKey(current, fresh, (item) => item.id);
}
