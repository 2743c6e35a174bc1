// What the status bar shows. Views update it as they learn things (the account in use, the last
// rate-limit headers seen, the running local balancer).

/** The name of the built-in Sandbox (`SANDBOX_NAME` in crates/core/src/workspace.rs); an added
 *  account cannot take it (`validate_account_name` refuses it). */
export const SANDBOX_NAME = "Sandbox";

/**
 * Whether an account is the app's own built-in Sandbox. An added account whose API is on the
 * loopback interface is not (a proxy on localhost, or even a `cutover sandbox serve` added by its
 * token, is an account of the user's: its kind says what it talks to, not that it is the Sandbox).
 */
export function isBuiltInSandbox(account: { name: string; kind?: string }): boolean {
  return account.name === SANDBOX_NAME && (account.kind === undefined || account.kind === "sandbox");
}

export interface StatusBar {
  /** `sandbox`: the SANDBOX badge, for the built-in Sandbox only. */
  account: { name: string; sandbox: boolean; colour?: string | null } | null;
  rateLimit: { remaining: number; limit: number } | null;
  balancer: { listen: string } | null;
}

class Status implements StatusBar {
  #account = $state<StatusBar["account"]>(null);
  rateLimit = $state<StatusBar["rateLimit"]>(null);
  balancer = $state<StatusBar["balancer"]>(null);

  get account(): StatusBar["account"] {
    return this.#account;
  }

  // Whoever sets the account (lib/accounts) may pass the connection kind as `sandbox`; the badge
  // is narrowed here to the built-in Sandbox, the one account it belongs to.
  set account(value: StatusBar["account"]) {
    this.#account = value && { ...value, sandbox: value.sandbox && isBuiltInSandbox({ name: value.name }) };
  }
}

export const status: StatusBar = new Status();
