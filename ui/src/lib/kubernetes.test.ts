import { describe, expect, it } from "vitest";
import type { ErrorCode } from "./bindings";
import { CommandError } from "./ipc";
import {
  annotationsYaml,
  kubernetesBadge,
  kubernetesRefusal,
  ownerNotice,
  ownerTitle,
  ownersById,
  sameOwners,
  yamlQuote,
} from "./kubernetes";

const CLUSTER = "0a1b2c3d-0000-4000-8000-000000000001";
const owner = (clusterId: string | null = CLUSTER) => ({
  clusterId,
  signals: [`tagged k8s:${clusterId}`],
  kubectl: "kubectl get svc -A -o json | jq …",
});

describe("the annotations as YAML", () => {
  it("is the Service's metadata.annotations, every value a quoted string", () => {
    const yaml = annotationsYaml([
      { key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", value: "true" },
      { key: "service.beta.kubernetes.io/do-loadbalancer-tls-ports", value: "443,8443" },
    ]);
    expect(yaml).toBe(
      [
        "metadata:",
        "  annotations:",
        '    service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol: "true"',
        '    service.beta.kubernetes.io/do-loadbalancer-tls-ports: "443,8443"',
      ].join("\n"),
    );
  });

  it("escapes what would break the YAML", () => {
    expect(yamlQuote('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(yamlQuote("line\nnext\tx")).toBe('"line\\nnext\\tx"');
    expect(yamlQuote("\u001b[31m")).toBe('"\\u001b[31m"');
    expect(yamlQuote("")).toBe('""');
    // A key YAML would read otherwise is quoted too.
    expect(annotationsYaml([{ key: "odd key: yes", value: "1" }])).toBe('metadata:\n  annotations:\n    "odd key: yes": "1"');
  });

  it("is empty when no annotation covers the change", () => {
    expect(annotationsYaml([])).toBe("");
  });
});

describe("the Kubernetes badge", () => {
  const owners = ownersById([
    { id: "lb-1", owner: owner() },
    { id: "lb-2", owner: owner(null) },
  ]);

  it("badges the owned load balancers only, titled with the cluster", () => {
    expect(kubernetesBadge(owners, "lb-1")).toEqual({ label: "Kubernetes", title: `Managed by Kubernetes cluster ${CLUSTER}` });
    expect(kubernetesBadge(owners, "lb-2")).toEqual({ label: "Kubernetes", title: "Managed by a Kubernetes cluster" });
    expect(kubernetesBadge(owners, "lb-3")).toBeNull();
  });

  it("takes a list without the field (an older backend) as none", () => {
    expect(ownersById(undefined).size).toBe(0);
    expect(ownersById(null).size).toBe(0);
  });

  it("keeps the old map when a refresh says the same", () => {
    const again = ownersById([
      { id: "lb-1", owner: owner() },
      { id: "lb-2", owner: owner(null) },
    ]);
    expect(sameOwners(owners, again)).toBe(true);
    expect(sameOwners(owners, ownersById([{ id: "lb-1", owner: owner() }]))).toBe(false);
    expect(sameOwners(ownersById([{ id: "lb-1", owner: owner() }]), ownersById([{ id: "lb-1", owner: owner("other") }]))).toBe(false);
  });

  it("says in the detail what happens to a change made here", () => {
    expect(ownerNotice(owner())).toBe(
      `Managed by Kubernetes cluster ${CLUSTER} — its controller reverts changes made here. Set the Service's annotations instead.`,
    );
    expect(ownerTitle({ clusterId: "  " })).toBe("Managed by a Kubernetes cluster");
  });
});

describe("a managed_by_kubernetes refusal", () => {
  const fail = (code: string, details: unknown) =>
    new CommandError({ code: code as ErrorCode, message: "Managed by Kubernetes.", details });

  it("reads the owner, the annotations and the unmapped fields", () => {
    const r = kubernetesRefusal(
      fail("managed_by_kubernetes", {
        owner: owner(),
        annotations: [{ key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", value: "true" }, { key: 1 }],
        unmapped_fields: ["vpc_uuid", 7],
      }),
    );
    expect(r?.owner?.clusterId).toBe(CLUSTER);
    expect(r?.annotations).toEqual([{ key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", value: "true" }]);
    expect(r?.unmappedFields).toEqual(["vpc_uuid"]);
  });

  it("is null for other errors, and empty for missing details", () => {
    expect(kubernetesRefusal(fail("conflict", { owner: owner() }))).toBeNull();
    expect(kubernetesRefusal(new Error("x"))).toBeNull();
    expect(kubernetesRefusal(fail("managed_by_kubernetes", null))).toEqual({ owner: null, annotations: [], unmappedFields: [] });
  });
});
