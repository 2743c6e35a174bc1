// The account in use, shared by the views and the status bar.
import { commands, type AccountSummary, type AccountsOverview } from "./bindings";
import { unwrap } from "./ipc";
import { status } from "./status.svelte";

export const accounts = $state<{ overview: AccountsOverview | null; error: string | null }>({
  overview: null,
  error: null,
});

function show(active: AccountSummary) {
  status.account = { name: active.name, sandbox: active.kind === "sandbox", colour: active.colour };
}

export async function refreshAccounts(): Promise<AccountsOverview> {
  const overview = await unwrap(commands.listAccounts());
  accounts.overview = overview;
  show(overview.active);
  return overview;
}

/** Switches account (null: the Sandbox); everything that shows account data reloads. */
export async function switchAccount(name: string | null): Promise<void> {
  await unwrap(commands.switchAccount(name));
  status.rateLimit = null;
  await refreshAccounts();
  accountVersion.value++;
}

/** Bumped on every switch: views reload when it changes. */
export const accountVersion = $state({ value: 0 });
