// The Replace panel's pure logic (issue 16): the steps' labels, what the step the replacement
// stopped at waits for, and the start form turned into core's input. Kept out of the component
// so it can be tested without a DOM.
import type {
  ReplaceInput_Deserialize as ReplaceInput,
  Replacement_Serialize as Replacement,
  StepId,
  StepStatus,
  Step_Serialize as Step,
} from "./bindings";

export const STEP_LABELS: Record<StepId, string> = {
  copy: "Copy the configuration",
  dry_run: "Dry run",
  create: "Create",
  active: "Wait until active",
  certificates: "Certificate check",
  rehearsal: "Rehearsal config",
  dns: "DNS cutover",
  verify: "Verify",
  wait: "Waiting period",
  delete_old: "Delete the old load balancer",
};

export const STATUS_LABELS: Record<StepStatus, string> = {
  pending: "Pending",
  done: "Done",
  skipped: "Skipped",
  blocked: "Waiting for you",
  failed: "Failed",
};

export function statusTone(status: StepStatus): string {
  if (status === "done") return "ok";
  if (status === "failed") return "err";
  if (status === "blocked") return "warn";
  return "";
}

/** The first step neither done nor skipped (null when all are). */
export function currentStep(plan: Replacement): Step | null {
  return plan.steps.find((s) => s.status !== "done" && s.status !== "skipped") ?? null;
}

/** What the user must give before "Continue" can get past the current step. */
export type Need = "domain" | "dns-approval" | "wait" | "delete-name" | "retry" | "continue" | "nothing";

export function needOf(plan: Replacement): Need {
  if (plan.finished) return "nothing";
  const step = currentStep(plan);
  if (!step) return "nothing";
  if (step.status === "failed") return "retry";
  if (step.status !== "blocked") return "continue";
  if (!plan.domain && ["certificates", "dns", "verify"].includes(step.id)) return "domain";
  if (step.id === "dns") return "dns-approval";
  if (step.id === "wait") return "wait";
  if (step.id === "delete_old") return "delete-name";
  return "continue";
}

/** Readiness was red at the DNS step (core says "readiness item(s) are not green"). */
export function dnsNotReady(plan: Replacement): boolean {
  const step = currentStep(plan);
  return step?.id === "dns" && step.status === "blocked" && /readiness/i.test(step.message);
}

/** The waiting periods offered after a successful verify, in seconds. */
export const WAIT_CHOICES: { secs: number; label: string }[] = [
  { secs: 0, label: "No wait" },
  { secs: 300, label: "5 minutes" },
  { secs: 3600, label: "1 hour" },
  { secs: 86400, label: "1 day" },
  { secs: 604800, label: "1 week" },
];

export interface StartForm {
  region: string;
  networkStack: string;
  network: string;
  lbType: string;
  vpcUuid: string;
  newName: string;
  domain: string;
  /** Names in the domain, separated by commas or spaces (`@, www`). */
  names: string;
  waitSecs: number;
}

/** The form's starting values: the old load balancer's fixed fields. */
export function formFrom(lb: {
  name: string;
  region?: { slug: string } | null;
  network_stack?: string | null;
  network?: string | null;
  type?: string | null;
  vpc_uuid?: string | null;
}): StartForm {
  return {
    region: lb.region?.slug ?? "",
    networkStack: lb.network_stack ?? "IPV4",
    network: lb.network ?? "EXTERNAL",
    lbType: lb.type ?? "REGIONAL",
    vpcUuid: "",
    newName: `${lb.name}-new`,
    domain: "",
    names: "",
    waitSecs: 3600,
  };
}

function blankToNull(s: string): string | null {
  const t = s.trim();
  return t === "" ? null : t;
}

/** Core's input: only the fixed fields that differ from the old ones are set. */
export function inputFrom(form: StartForm, old: StartForm): ReplaceInput {
  const changed = (a: string, b: string) => (a.trim().toUpperCase() !== b.trim().toUpperCase() ? blankToNull(a) : null);
  return {
    fixed: {
      region: form.region.trim() !== old.region.trim() ? blankToNull(form.region) : null,
      networkStack: changed(form.networkStack, old.networkStack),
      network: changed(form.network, old.network),
      lbType: changed(form.lbType, old.lbType),
      vpcUuid: blankToNull(form.vpcUuid),
    },
    newName: blankToNull(form.newName),
    domain: blankToNull(form.domain),
    names: form.names
      .split(/[\s,]+/)
      .map((n) => n.trim())
      .filter((n) => n !== ""),
    waitSecs: form.waitSecs,
  };
}

/** Whether the form changes anything only a new load balancer can change. */
export function changesSomething(form: StartForm, old: StartForm): boolean {
  const f = inputFrom(form, old).fixed ?? {};
  return Object.values(f).some((v) => v !== null && v !== undefined);
}
