import { describe, expect, it } from "vitest";
import type { ChangeKind, EntryStatus } from "./bindings";
import {
  canRevert,
  certificateSummary,
  changedFields,
  isCertificate,
  kindLabel,
  localTime,
  revertBlocker,
  statusLabel,
  summarize,
  type EntryLike,
} from "./history";

const entry = (over: Partial<EntryLike> = {}): EntryLike => ({
  kind: "update",
  status: "done",
  before: { name: "web" },
  changes: [{ path: "enable_proxy_protocol", before: false, after: true }],
  error: null,
  ...over,
});

describe("kind and status labels", () => {
  it("names every kind and status", () => {
    const kinds: ChangeKind[] = ["update", "create", "delete", "add_droplets", "remove_droplets", "add_rules", "remove_rules"];
    expect(kinds.map(kindLabel)).toEqual(["Edit", "Create", "Delete", "Droplets added", "Droplets removed", "Rules added", "Rules removed"]);
    const statuses: EntryStatus[] = ["done", "failed", "started"];
    expect(statuses.map(statusLabel)).toEqual(["Done", "Failed", "Unfinished"]);
  });
});

describe("canRevert", () => {
  it("reverts edits, droplet and rule changes", () => {
    for (const kind of ["update", "add_droplets", "remove_droplets", "add_rules", "remove_rules"] as ChangeKind[]) {
      expect(canRevert(entry({ kind })), kind).toBe(true);
    }
  });

  it("also an unfinished one (it may have taken effect)", () => {
    expect(canRevert(entry({ status: "started" }))).toBe(true);
  });

  it("not creates, deletes, failures or entries without a before, saying why", () => {
    expect(revertBlocker(entry({ kind: "create", before: null }))).toMatch(/create cannot be undone/);
    expect(revertBlocker(entry({ kind: "delete" }))).toMatch(/delete cannot be undone/);
    expect(revertBlocker(entry({ status: "failed", error: "422" }))).toMatch(/nothing was changed/);
    expect(revertBlocker(entry({ before: null }))).toMatch(/no configuration/);
    expect(revertBlocker(entry({ before: undefined }))).toMatch(/no configuration/);
    expect(revertBlocker(entry())).toBeNull();
  });
});

describe("summarize", () => {
  it("shows a single change with its values", () => {
    expect(summarize(entry())).toBe("enable_proxy_protocol: false → true");
    expect(summarize(entry({ changes: [{ path: "name", before: "web", after: "" }] }))).toBe('name: web → ""');
    expect(summarize(entry({ changes: [{ path: "tag", before: null, after: "web" }] }))).toBe("tag: (none) → web");
  });

  it("shortens long values", () => {
    const long = "x".repeat(80);
    const s = summarize(entry({ changes: [{ path: "name", before: long, after: "y" }] }));
    expect(s).toBe(`name: ${"x".repeat(31)}… → y`);
  });

  it("lists several fields by path, each once, then how many more", () => {
    const changes = ["name", "health_check.port", "health_check.path", "forwarding_rules[0].target_port", "name"].map((path) => ({ path, before: 1, after: 2 }));
    expect(changedFields(entry({ changes }))).toEqual(["name", "health_check.port", "health_check.path", "forwarding_rules[0].target_port"]);
    expect(summarize(entry({ changes }))).toBe("name, health_check.port, health_check.path +1 more");
    expect(summarize(entry({ changes: changes.slice(0, 2) }))).toBe("name, health_check.port");
  });

  it("says what a create or delete did when no field is listed", () => {
    expect(summarize(entry({ kind: "create", changes: [] }))).toBe("Created");
    expect(summarize(entry({ kind: "delete", changes: [] }))).toBe("Deleted");
    expect(summarize(entry({ changes: [] }))).toBe("No field changed");
  });
});

describe("localTime", () => {
  it("shows the time in the local zone and keeps what it cannot read", () => {
    const at = "2026-03-01T12:34:56Z";
    expect(localTime(at)).toBe(new Date(at).toLocaleString());
    expect(localTime("yesterday")).toBe("yesterday");
  });
});

describe("certificate entries", () => {
  const created = entry({
    kind: "cert_create",
    before: null,
    changes: [
      { path: "name", before: null, after: "blog-le-2" },
      { path: "type", before: null, after: "lets_encrypt" },
      { path: "dns_names", before: null, after: ["blog.example.com", "www.blog.example.com"] },
    ],
  });
  const deleted = entry({
    kind: "cert_delete",
    before: { id: "c1", name: "blog-le" },
    changes: [
      { path: "name", before: "blog-le", after: null },
      { path: "type", before: "custom", after: null },
      { path: "dns_names", before: [""], after: null },
      { path: "rotated_to", before: "blog-le", after: "blog-le-2" },
    ],
  });

  it("are labelled and told apart from load-balancer changes", () => {
    expect(kindLabel("cert_create")).toBe("Certificate created");
    expect(kindLabel("cert_delete")).toBe("Certificate deleted");
    expect(isCertificate("cert_delete")).toBe(true);
    expect(isCertificate("delete")).toBe(false);
  });

  it("are summarised by name, type and names; a rotation's delete says what replaced it", () => {
    expect(summarize(created)).toBe('Created Let\'s Encrypt "blog-le-2" for blog.example.com, www.blog.example.com');
    // A custom certificate's empty name is not listed.
    expect(summarize(deleted)).toBe('Deleted custom "blog-le", replaced by "blog-le-2"');
    expect(certificateSummary(entry({ kind: "cert_create", changes: [] }))).toBeNull();
  });

  it("are never offered a revert, even with a before, and say why", () => {
    for (const e of [created, deleted, entry({ kind: "cert_create", status: "failed" })]) {
      expect(canRevert(e)).toBe(false);
      expect(revertBlocker(e)).toMatch(/certificate is not an undo/);
    }
  });
});
