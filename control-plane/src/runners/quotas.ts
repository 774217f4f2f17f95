import type { PrincipalPolicy } from "../auth/principal-policy.js";
import { QUOTA_NAMES, type QuotaLimits, type QuotaName } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import type { RunnerLimits } from "../runtime/runner-container-spec.js";
import type { ContainerState } from "../runtime/runner-containers.js";

/** A principal's quotas as they apply: the lower of the server's and its policy's, and whose each one is. */
export interface EffectiveQuotas {
  limits: QuotaLimits;
  /** Per quota: the policy that set it, or "server". */
  source: Partial<Record<keyof QuotaLimits, string>>;
}

/** What a principal holds now, as the quotas count it. */
export interface QuotaUsage {
  runningRunners: number;
  cpus: number;
  memoryMb: number;
}

/** A runner as the quotas see it: its state and limits. */
export interface CountedRunner {
  runnerId: string;
  state: ContainerState | "starting";
  limits: RunnerLimits | undefined;
}

const NAMES = QUOTA_NAMES;

export function effectiveQuotas(server: QuotaLimits, policy: PrincipalPolicy | undefined): EffectiveQuotas {
  const limits: QuotaLimits = {};
  const source: EffectiveQuotas["source"] = {};
  for (const key of Object.keys(NAMES) as Array<keyof QuotaLimits>) {
    const own = policy?.quotas?.[key];
    const serverValue = server[key];
    if (own !== undefined && (serverValue === undefined || own < serverValue)) {
      limits[key] = own;
      source[key] = policy!.name;
    } else if (serverValue !== undefined) {
      limits[key] = serverValue;
      source[key] = "server";
    }
  }
  return { limits, source };
}

/** Running, paused and starting runners count; paused ones hold memory but no CPU. */
export function quotaUsage(runners: CountedRunner[]): QuotaUsage {
  const usage: QuotaUsage = { runningRunners: 0, cpus: 0, memoryMb: 0 };
  for (const runner of runners) {
    if (!["running", "paused", "starting", "created", "restarting"].includes(runner.state)) continue;
    usage.runningRunners += 1;
    usage.memoryMb += runner.limits?.memoryMb ?? 0;
    if (runner.state !== "paused") usage.cpus += runner.limits?.cpus ?? 0;
  }
  return usage;
}

function exceeded(quotas: EffectiveQuotas, key: keyof QuotaLimits, used: string, adding: string): ControlPlaneError {
  const whose = quotas.source[key] === "server" ? "this server's" : `policy "${quotas.source[key]}"'s`;
  const limit = quotas.limits[key];
  const fix =
    key === "snapshots"
      ? "Remove snapshots you no longer need (snapshot_list, snapshot_remove), then try again."
      : "Stop, pause or remove runners you no longer need (runner_list, runner_stop, runner_pause, runner_remove), then try again.";
  return new ControlPlaneError(
    "QUOTA_EXCEEDED",
    `Quota ${NAMES[key]} exceeded: ${whose} quota is ${limit}, you use ${used}, and this would add ${adding}. ${fix}`,
  );
}

/**
 * Refuses what would take a principal past a quota: `adding` is what the runner about to start (or thaw) adds
 * (a runner, its cpus, its memory; thawing adds only cpus). Throws QUOTA_EXCEEDED naming the quota, the usage and the fix.
 */
export function checkRunnerQuotas(
  quotas: EffectiveQuotas,
  usage: QuotaUsage,
  adding: { runners: number; cpus: number; memoryMb: number },
): void {
  const { runningRunners, cpus, memoryMb } = quotas.limits;
  if (runningRunners !== undefined && adding.runners > 0 && usage.runningRunners + adding.runners > runningRunners)
    throw exceeded(quotas, "runningRunners", `${usage.runningRunners} runners`, `${adding.runners}`);
  if (cpus !== undefined && adding.cpus > 0 && usage.cpus + adding.cpus > cpus)
    throw exceeded(quotas, "cpus", `${usage.cpus} cpus`, `${adding.cpus}`);
  if (memoryMb !== undefined && adding.memoryMb > 0 && usage.memoryMb + adding.memoryMb > memoryMb)
    throw exceeded(quotas, "memoryMb", `${usage.memoryMb} MiB`, `${adding.memoryMb} MiB`);
}

/** Refuses one more snapshot past the snapshots quota. */
export function checkSnapshotQuota(quotas: EffectiveQuotas, snapshots: number): void {
  const limit = quotas.limits.snapshots;
  if (limit !== undefined && snapshots + 1 > limit) throw exceeded(quotas, "snapshots", `${snapshots} snapshots`, "1");
}

/** Each quota with what the principal uses of it, for system_status. */
export function quotaReport(
  quotas: EffectiveQuotas,
  usage: QuotaUsage & { snapshots: number },
): Array<{ quota: QuotaName; used: number; limit: number; source: string }> {
  return (Object.keys(NAMES) as Array<keyof QuotaLimits>).flatMap((key) => {
    const limit = quotas.limits[key];
    return limit === undefined ? [] : [{ quota: NAMES[key], used: usage[key], limit, source: quotas.source[key]! }];
  });
}
