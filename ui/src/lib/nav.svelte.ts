// Which view the main pane shows. A plain state object rather than a router: the app has one
// window and no deep links, so URLs would add nothing.

export type ViewId = "accounts" | "load-balancers" | "certificates" | "rehearsal" | "dns" | "watch" | "activity" | "logs" | "about";

export const VIEWS: { id: ViewId; label: string; key: string }[] = [
  { id: "accounts", label: "Accounts", key: "1" },
  { id: "load-balancers", label: "Load balancers", key: "2" },
  { id: "certificates", label: "Certificates", key: "3" },
  { id: "rehearsal", label: "Rehearsal", key: "4" },
  { id: "dns", label: "DNS cutover", key: "5" },
  { id: "watch", label: "Watch", key: "7" },
  { id: "activity", label: "Activity", key: "9" },
  { id: "logs", label: "Logs", key: "6" },
  { id: "about", label: "About", key: "8" },
];

// The last view is remembered across restarts (issue 18: the app reopens where it was left); the
// window's size and position are the window-state plugin's, in Rust.
const SAVED_VIEW = "cutover.view";

function savedView(): ViewId {
  try {
    const saved = globalThis.localStorage?.getItem(SAVED_VIEW);
    const known = VIEWS.find((v) => v.id === saved);
    if (known) return known.id;
  } catch {
    // No storage (a locked-down webview): start on the default view.
  }
  return "load-balancers";
}

function remember(view: ViewId) {
  try {
    globalThis.localStorage?.setItem(SAVED_VIEW, view);
  } catch {
    // Not remembering is harmless.
  }
}

export const nav = $state<{ view: ViewId; dnsTarget: { lbId: string; domain: string | null } | null }>({
  view: savedView(),
  dnsTarget: null,
});

export function go(view: ViewId) {
  nav.view = view;
  remember(view);
}

/** Opens the DNS cutover view with a load balancer (and a domain, if known) preselected. */
export function openDnsCutover(lbId: string, domain: string | null = null) {
  nav.dnsTarget = { lbId, domain };
  nav.view = "dns";
  remember("dns");
}
