// Which view the main pane shows. A plain state object rather than a router: the app has one
// window and no deep links, so URLs would add nothing.

export type ViewId = "accounts" | "load-balancers" | "certificates" | "rehearsal" | "logs";

export const VIEWS: { id: ViewId; label: string; key: string }[] = [
  { id: "accounts", label: "Accounts", key: "1" },
  { id: "load-balancers", label: "Load balancers", key: "2" },
  { id: "certificates", label: "Certificates", key: "3" },
  { id: "rehearsal", label: "Rehearsal", key: "4" },
  { id: "logs", label: "Logs", key: "5" },
];

export const nav = $state<{ view: ViewId }>({ view: "load-balancers" });

export function go(view: ViewId) {
  nav.view = view;
}
