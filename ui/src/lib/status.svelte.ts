// What the status bar shows. Views update it as they learn things (the account in use, the last
// rate-limit headers seen, the running local balancer).

export interface StatusBar {
  account: { name: string; sandbox: boolean; colour?: string | null } | null;
  rateLimit: { remaining: number; limit: number } | null;
  balancer: { listen: string } | null;
}

export const status = $state<StatusBar>({
  account: null,
  rateLimit: null,
  balancer: null,
});
