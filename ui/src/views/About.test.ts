// The About view over fake commands: version and build, the windowed licence list and its
// filter, and "Check for updates" — an offer with its notes, Install disabled with the reason
// while a rehearsal runs, and the install's outcome — under the test ids the journeys use.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/svelte";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

const fake = vi.hoisted(() => {
  const ok = (data: unknown) => Promise.resolve({ status: "ok", data });
  const fail = (code: string, message: string, details: unknown = null) =>
    Promise.resolve({ status: "error", error: { code, message, details } });
  const crate = (i: number) => ({
    name: `crate-${String(i).padStart(3, "0")}`,
    version: "1.0.0",
    license: i % 3 ? "MIT OR Apache-2.0" : "ISC",
    repository: null,
  });
  const info = {
    name: "Cutover",
    version: "0.1.0",
    commit: "1bf1cb2abcde",
    built_at: "2026-12-06T05:00:00Z",
    license: "Apache-2.0",
    crates: Array.from({ length: 400 }, (_, i) => crate(i)),
    ui_packages: [{ name: "svelte", version: "5.57.3", license: "MIT", repository: "git+https://github.com/sveltejs/svelte.git" }],
    licence_counts: [
      { license: "MIT OR Apache-2.0", count: 266 },
      { license: "ISC", count: 134 },
      { license: "MIT", count: 1 },
    ],
    problems: [],
  };
  const offer = { version: "0.2.0", notes: "Watch view.\nUpdater.", date: "2026-12-01T10:00:00Z" };
  const answers: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  const reset = () => {
    Object.assign(answers, {
      aboutInfo: () => ok(info),
      updateCheck: () => ok({ current_version: "0.1.0", offer, installed: null, waits_for: [] }),
      updateInstall: () => ok({ version: "0.2.0", restarting: true, waits_for: [] }),
      updateRestart: () => ok(null),
    });
  };
  const calls: Record<string, unknown[][]> = {};
  const commands = new Proxy({} as Record<string, (...args: unknown[]) => Promise<unknown>>, {
    get:
      (_, name: string) =>
      (...args: unknown[]) => {
        (calls[name] ??= []).push(args);
        return answers[name](...args);
      },
  });
  return { ok, fail, answers, reset, commands, calls, offer };
});

vi.mock("../lib/bindings", () => ({ commands: fake.commands, events: {} }));

(window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};

const { default: About } = await import("./About.svelte");

const q = (c: HTMLElement, sel: string) => c.querySelector<HTMLElement>(sel);

async function shown() {
  const { container } = render(About);
  await waitFor(() => expect(q(container, "[data-testid='about-version']")).not.toBeNull());
  return container;
}

beforeAll(() => {
  if (!("ResizeObserver" in globalThis)) {
    (globalThis as Record<string, unknown>).ResizeObserver = class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
  }
  // jsdom lays nothing out: the windowed table's box gets a height so its rows render.
  Object.defineProperty(Element.prototype, "clientHeight", {
    configurable: true,
    get() {
      return (this as Element).classList.contains("vt-scroll") ? 600 : 0;
    },
  });
});
afterEach(cleanup);

describe("About view", () => {
  beforeEach(() => {
    fake.reset();
    for (const name of Object.keys(fake.calls)) delete fake.calls[name];
  });

  it("shows the version, the build and a windowed, filterable licence list", async () => {
    const c = await shown();
    expect(q(c, "[data-testid='about-version']")!.textContent).toBe("0.1.0");
    expect(q(c, "[data-testid='about-build']")!.textContent).toContain("1bf1cb2abcde");
    expect(q(c, "[data-testid='about-licences']")!.textContent).toContain("400 Rust crates");
    expect(q(c, "[data-testid='licence-count']")!.textContent).toBe("401 of 401");
    // Windowed: far fewer rows in the page than in the list.
    const rendered = c.querySelectorAll("[data-testid='licence-list'] tbody tr[data-name]").length;
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(100);

    const filter = q(c, "[data-testid='licence-filter']") as HTMLInputElement;
    await fireEvent.input(filter, { target: { value: "isc" } });
    await waitFor(() => expect(q(c, "[data-testid='licence-count']")!.textContent).toBe("134 of 401"));
    await fireEvent.input(filter, { target: { value: "svelte" } });
    await waitFor(() => expect(q(c, "tr[data-origin='npm'][data-name='svelte']")).not.toBeNull());
  });

  it("offers a newer version with its notes and installs only on click", async () => {
    const c = await shown();
    expect(fake.calls.updateCheck).toBeUndefined();
    await fireEvent.click(q(c, "[data-testid='update-check']")!);
    await waitFor(() => expect(q(c, "[data-testid='update-offer']")).not.toBeNull());
    expect(q(c, "[data-testid='update-summary']")!.dataset.state).toBe("available");
    expect(q(c, "[data-testid='update-notes']")!.textContent).toContain("Updater.");
    expect(fake.calls.updateInstall).toBeUndefined();
    const install = q(c, "[data-testid='update-install']") as HTMLButtonElement;
    expect(install.disabled).toBe(false);
    await fireEvent.click(install);
    await waitFor(() => expect(q(c, "[data-testid='update-restarting']")).not.toBeNull());
    expect(fake.calls.updateInstall).toHaveLength(1);
  });

  it("keeps Install disabled and says why while the rehearsal balancer runs", async () => {
    const reason = "the rehearsal balancer is running on 127.0.0.1:8443: stop it in the Rehearsal view first";
    fake.answers.updateCheck = () =>
      fake.ok({ current_version: "0.1.0", offer: fake.offer, installed: null, waits_for: [reason] });
    const c = await shown();
    await fireEvent.click(q(c, "[data-testid='update-check']")!);
    await waitFor(() => expect(q(c, "[data-testid='update-waits']")).not.toBeNull());
    expect(q(c, "[data-testid='update-waits']")!.textContent).toContain("127.0.0.1:8443");
    expect((q(c, "[data-testid='update-install']") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows a refused (tampered) update as an error, and an install that waits for a restart", async () => {
    fake.answers.updateInstall = () =>
      fake.fail("validation", "The update was refused: its signature does not match Cutover's public key.", {
        update: "bad_signature",
      });
    const c = await shown();
    await fireEvent.click(q(c, "[data-testid='update-check']")!);
    await waitFor(() => expect(q(c, "[data-testid='update-install']")).not.toBeNull());
    await fireEvent.click(q(c, "[data-testid='update-install']")!);
    await waitFor(() => expect(q(c, "[data-testid='update-install-error']")).not.toBeNull());
    expect(q(c, "[data-testid='update-install-error']")!.textContent).toContain("signature does not match");

    fake.answers.updateInstall = () =>
      fake.ok({ version: "0.2.0", restarting: false, waits_for: ["a DNS change is being written: wait for it to finish"] });
    await fireEvent.click(q(c, "[data-testid='update-install']")!);
    await waitFor(() => expect(q(c, "[data-testid='update-installed']")).not.toBeNull());
    expect(q(c, "[data-testid='update-installed']")!.textContent).toContain("DNS change");
    await fireEvent.click(q(c, "[data-testid='update-restart']")!);
    await waitFor(() => expect(fake.calls.updateRestart).toHaveLength(1));
  });
});
