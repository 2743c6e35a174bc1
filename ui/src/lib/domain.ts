// Domain names as the UI compares them. The one normalisation every view and helper uses, so
// `Shop.Example.com.` typed in one place and `shop.example.com` shown in another are one name.

/** Trimmed, without the root's trailing dot, in lower case: `" Shop.Example.COM. "` → `shop.example.com`. */
export function normDomain(d: string): string {
  return d.trim().replace(/\.$/, "").toLowerCase();
}
