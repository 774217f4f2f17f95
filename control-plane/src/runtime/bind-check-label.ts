import type { BindCheck, HostBind } from "./runner-container-spec.js";
import { LABEL } from "./labels.js";

/** The label recording each bind's check (none when no bind has one), set when the runner is created. */
export function bindCheckLabels(binds: readonly HostBind[] | undefined): Record<string, string> {
  const checks = Object.fromEntries((binds ?? []).flatMap((bind) => (bind.check ? [[bind.target, bind.check]] : [])));
  return Object.keys(checks).length > 0 ? { [LABEL.bindChecks]: JSON.stringify(checks) } : {};
}

/** The checks recorded in a runner's labels, by bind target; empty when the label is missing or malformed. */
export function bindChecksFrom(labels: Record<string, string>): Map<string, BindCheck> {
  const checks = new Map<string, BindCheck>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(labels[LABEL.bindChecks] ?? "{}");
  } catch {
    return checks;
  }
  for (const [target, check] of Object.entries(parsed as Record<string, Partial<BindCheck>>)) {
    if (typeof check?.alias === "string" && typeof check.subpath === "string" && typeof check.identity === "string") {
      checks.set(target, { alias: check.alias, subpath: check.subpath, identity: check.identity });
    }
  }
  return checks;
}
