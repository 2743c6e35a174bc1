// The load balancers the views offer to pick from (Rehearsal, DNS cutover, Certificates), held
// once for the account in use. Each view refreshes it when it opens: the list already held shows
// at once and the fresh one replaces it, and views opening together share one fetch.
import { untrack } from "svelte";
import { commands, type LbChoice } from "./bindings";
import { unwrap } from "./ipc";
import { accountVersion } from "./accounts.svelte";

export class LbChoices {
  list = $state<LbChoice[]>([]);
  /** What the last fetch threw, as thrown (for the error box). */
  error = $state<unknown>(null);
  loading = $state(false);
  /** The load balancers the local balancer can rehearse (those with an SSL-passthrough rule). */
  readonly passthrough = $derived(this.list.filter((c) => c.passthrough));
  readonly #fetch: () => Promise<LbChoice[]>;
  readonly #account: () => unknown;
  #key: unknown = undefined;
  #pending: Promise<LbChoice[] | null> | null = null;
  // Only the latest fetch may write: the old account's late answer must not land.
  #generation = 0;

  constructor(fetch: () => Promise<LbChoice[]>, account: () => unknown) {
    this.#fetch = fetch;
    this.#account = account;
  }

  /**
   * Fetches the list again for the account in use, or joins the fetch already on its way for it.
   * Resolves to the fresh list; null when the fetch failed (see `error`) or the account changed
   * meanwhile. Reads no state on the caller's behalf, so an effect may call it.
   */
  refresh(): Promise<LbChoice[] | null> {
    return untrack(() => {
      const key = this.#account();
      if (key === this.#key && this.#pending) return this.#pending;
      if (key !== this.#key) {
        this.list = [];
        this.#key = key;
      }
      const generation = ++this.#generation;
      this.loading = true;
      this.error = null;
      const settle = () => {
        this.loading = false;
        this.#pending = null;
      };
      const pending = this.#fetch().then(
        (list) => {
          if (generation !== this.#generation) return null;
          this.list = list;
          settle();
          return list;
        },
        (err: unknown) => {
          if (generation !== this.#generation) return null;
          this.error = err;
          settle();
          return null;
        },
      );
      this.#pending = pending;
      return pending;
    });
  }
}

/** The app's one list, per account. */
export const lbChoices = new LbChoices(
  () => unwrap(commands.checkSources()),
  () => accountVersion.value,
);
