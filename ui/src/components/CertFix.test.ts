import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render } from "@testing-library/svelte";
import CertFix from "./CertFix.svelte";
import type { FleetReport, Remedy } from "../lib/bindings";

// Vitest resolves `svelte` to its server build; mounting a component needs the client one.
vi.mock("svelte", async () => await vi.importActual("../../node_modules/svelte/src/index-client.js"));

afterEach(cleanup);

const remedy: Remedy = {
  chosen: "A",
  chosen_sha256: "aa".repeat(32),
  reason: "Keep certificate A (on web-1, web-2): it is valid for sandbox-shop.test, its chain is trusted and it has 89 days left, while B has only 2 days left.",
  droplets: ["web-3"],
  sources: ["web-1", "web-2"],
  fixes: [
    {
      droplet: "web-3",
      host: "203.0.113.13",
      copy_from: "web-1",
      copy_from_host: "203.0.113.11",
      server: null,
      server_note: "Cutover cannot tell which server web-3 runs (a TLS check does not show it), so these are the generic steps.",
      steps: [
        {
          title: "Copy the key and the full chain from web-1 to web-3",
          run_on: "web-1 (203.0.113.11)",
          commands: ["ssh -A SSH_USER@203.0.113.11", "sudo rsync -a KEY_PATH SSH_USER@203.0.113.13:KEY_PATH"],
          note: "The private key goes straight from droplet to droplet.",
        },
      ],
    },
  ],
  rebuild: null,
  renewal_warning: null,
};

function report(leaves: Record<string, string>, withRemedy: Remedy | null): FleetReport {
  const labels = Object.keys(leaves);
  const shas = [...new Set(Object.values(leaves))];
  const r = {
    domain: "sandbox-shop.test",
    backends: labels.map((label) => ({ label, leaf: { sha256: leaves[label] } })) as unknown as FleetReport["backends"],
    groups: shas.map((sha, i) => ({
      name: "AB"[i],
      sha256: sha,
      subject: "",
      not_after: "",
      backends: labels.filter((l) => leaves[l] === sha),
    })),
    findings: [],
    verdict: { severity: null, ok: true, summary: "" } as unknown as FleetReport["verdict"],
    remedy: withRemedy,
    recheck: null,
  };
  return r as unknown as FleetReport;
}

const A = "aa".repeat(32);
const B = "bb".repeat(32);

describe("CertFix", () => {
  it("shows nothing when the backends agree", () => {
    const { container } = render(CertFix, { report: report({ "web-1": A, "web-2": A }, null), onRecheck: () => {} });
    expect(container.querySelector("[data-testid='cert-fix']")).toBeNull();
  });

  it("shows the certificate to keep, the reason and the steps for web-3 with copy buttons", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { container } = render(CertFix, {
      report: report({ "web-1": A, "web-2": A, "web-3": B }, remedy),
      onRecheck: () => {},
    });
    const panel = container.querySelector("[data-testid='cert-fix']")!;
    expect(panel.querySelector("[data-testid='cert-fix-choice']")!.textContent).toContain("Keep certificate A");
    expect(panel.querySelector("[data-testid='cert-fix-reason']")!.textContent).toContain("B has only 2 days left");
    const droplet = panel.querySelector("[data-testid='cert-fix-droplet']")!;
    expect(droplet.getAttribute("data-droplet")).toBe("web-3");
    expect(droplet.querySelectorAll("[data-testid='cert-fix-step']").length).toBe(1);
    const copyButtons = droplet.querySelectorAll<HTMLButtonElement>("[data-testid='cert-fix-copy']");
    expect(copyButtons.length).toBe(2);
    await fireEvent.click(copyButtons[1]);
    expect(writeText).toHaveBeenCalledWith("sudo rsync -a KEY_PATH SSH_USER@203.0.113.13:KEY_PATH");
    expect(copyButtons[1].textContent).toBe("Copied");
  });

  it("rechecks and says when the mismatch is cleared", async () => {
    const onRecheck = vi.fn();
    const { container, rerender } = render(CertFix, {
      report: report({ "web-1": A, "web-2": A, "web-3": B }, remedy),
      onRecheck,
    });
    expect(container.querySelector("[data-testid='cert-fix-recheck-what']")!.textContent).toContain("Checks only web-3 again");
    await fireEvent.click(container.querySelector("[data-testid='cert-fix-recheck']")!);
    // Only the droplets the remedy names are probed again.
    expect(onRecheck).toHaveBeenCalledExactlyOnceWith(["web-3"]);
    // The view keeps its report while the recheck runs.
    await rerender({ report: report({ "web-1": A, "web-2": A, "web-3": B }, remedy), rechecking: true, onRecheck });
    expect(container.querySelector("[data-testid='cert-fix-rechecking']")!.textContent).toContain("web-3");
    await rerender({ report: report({ "web-1": A, "web-2": A, "web-3": A }, null), rechecking: false, onRecheck });
    const outcome = container.querySelector("[data-testid='cert-fix-outcome']")!;
    expect(outcome.getAttribute("data-cleared")).toBe("yes");
    expect(outcome.textContent).toContain("web-3 now serves the certificate to keep: all 3 backends serve the same certificate.");
  });

  it("says what still differs after a recheck", async () => {
    const onRecheck = vi.fn();
    const { container, rerender } = render(CertFix, {
      report: report({ "web-1": A, "web-2": A, "web-3": B }, remedy),
      onRecheck,
    });
    await fireEvent.click(container.querySelector("[data-testid='cert-fix-recheck']")!);
    await rerender({ report: report({ "web-1": A, "web-2": A, "web-3": B }, remedy), rechecking: false, onRecheck });
    const outcome = container.querySelector("[data-testid='cert-fix-outcome']")!;
    expect(outcome.getAttribute("data-cleared")).toBe("no");
    expect(outcome.textContent).toContain("web-3 still differs");
  });

  it("shows the recheck's own verdict and rechecks the same droplets again after it cleared", async () => {
    const onRecheck = vi.fn();
    const { container, rerender } = render(CertFix, {
      report: report({ "web-1": A, "web-2": A, "web-3": B }, remedy),
      onRecheck,
    });
    await fireEvent.click(container.querySelector("[data-testid='cert-fix-recheck']")!);
    const merged = {
      ...report({ "web-1": A, "web-2": A, "web-3": A }, null),
      recheck: { droplets: ["web-3"], cleared: true, summary: "web-3 now serves the certificate to keep (A): all 3 backends serve the same certificate." },
    } as FleetReport;
    await rerender({ report: merged, rechecking: false, onRecheck });
    const outcome = container.querySelector("[data-testid='cert-fix-outcome']")!;
    expect(outcome.getAttribute("data-cleared")).toBe("yes");
    expect(outcome.textContent).toContain("web-3 now serves the certificate to keep (A)");
    // No remedy is left; Recheck is still there and probes web-3 again.
    expect(container.querySelector("[data-testid='cert-fix-droplet']")).toBeNull();
    await fireEvent.click(container.querySelector("[data-testid='cert-fix-recheck']")!);
    expect(onRecheck).toHaveBeenLastCalledWith(["web-3"]);
  });
});
