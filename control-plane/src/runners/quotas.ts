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

/** A principal's disk, in bytes, as the byte quotas measure it (see quota-usage.ts and the ADR on quotas). */
export interface DiskUsage {
  /** Its workspace volumes, as the engine measures them. */
  workspaceBytes: number;
  /** What its snapshots add over the images they were taken from (each one's own layer). */
  snapshotBytes: number;
  /** Its exports in the export root (their manifests' bytes_written). */
  exportBytes: number;
}

/** The quotas counted in MiB of measured disk. */
export type DiskQuota = "workspaceDiskMb" | "snapshotMb" | "exportMb";

/** Bytes in a MiB, the unit of the disk quotas. */
export const MIB = 1024 * 1024;

/** Bytes in MiB as messages and system_status show them: an integer or one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / MIB) * 10) / 10;
}

const FREE_RUNNERS =
  "Stop, pause or remove runners you no longer need (runner_list, runner_stop, runner_pause, runner_remove), then try again.";
const FREE_SNAPSHOTS = "Remove snapshots you no longer need (snapshot_list, snapshot_remove), then try again.";

/** How to get back under each quota. */
const FIX: Record<keyof QuotaLimits, string> = {
  runningRunners: FREE_RUNNERS,
  cpus: FREE_RUNNERS,
  memoryMb: FREE_RUNNERS,
  snapshots: FREE_SNAPSHOTS,
  workspaceDiskMb:
    "Remove workspaces you no longer need (volume_list, volume_remove), or delete files in /work (exec; starting a stopped runner is allowed for that), then try again.",
  snapshotMb: FREE_SNAPSHOTS,
  exportMb:
    "Export into a read-write mount of the runner instead (destination), export less (a subfolder, exclude globs), or ask the operator to remove exports you no longer need from the export root.",
};

/** Who holds the bytes a disk quota counts, for its messages. */
const HOLDER: Record<DiskQuota, string> = {
  workspaceDiskMb: "your workspaces use",
  snapshotMb: "your snapshots use",
  exportMb: "your exports in the export root use",
};

function exceeded(quotas: EffectiveQuotas, key: keyof QuotaLimits, usage: string): ControlPlaneError {
  const whose = quotas.source[key] === "server" ? "this server's" : `policy "${quotas.source[key]}"'s`;
  return new ControlPlaneError(
    "QUOTA_EXCEEDED",
    `Quota ${NAMES[key]} exceeded: ${whose} quota is ${quotas.limits[key]}, ${usage}. ${FIX[key]}`,
  );
}

function exceededBy(quotas: EffectiveQuotas, key: keyof QuotaLimits, used: string, adding: string): ControlPlaneError {
  return exceeded(quotas, key, `you use ${used}, and this would add ${adding}`);
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
    throw exceededBy(quotas, "runningRunners", `${usage.runningRunners} runners`, `${adding.runners}`);
  if (cpus !== undefined && adding.cpus > 0 && usage.cpus + adding.cpus > cpus)
    throw exceededBy(quotas, "cpus", `${usage.cpus} cpus`, `${adding.cpus}`);
  if (memoryMb !== undefined && adding.memoryMb > 0 && usage.memoryMb + adding.memoryMb > memoryMb)
    throw exceededBy(quotas, "memoryMb", `${usage.memoryMb} MiB`, `${adding.memoryMb} MiB`);
}

/** Refuses one more snapshot past the snapshots quota. */
export function checkSnapshotQuota(quotas: EffectiveQuotas, snapshots: number): void {
  const limit = quotas.limits.snapshots;
  if (limit !== undefined && snapshots + 1 > limit)
    throw exceededBy(quotas, "snapshots", `${snapshots} snapshots`, "1");
}

/**
 * Refuses what a disk quota bounds: without `adding`, while the principal's measured usage is at or over the quota
 * (what it writes cannot be refused, so the next thing it starts is); with `adding` (bytes just made, e.g. a new
 * snapshot's layer), when they take it past the quota, saying what became of them (`outcome`, given their MiB).
 */
export function checkDiskQuota(
  quotas: EffectiveQuotas,
  key: DiskQuota,
  usedBytes: number,
  adding?: { bytes: number; outcome: (size: string) => string },
): void {
  const limit = quotas.limits[key];
  if (limit === undefined) return;
  const past = adding === undefined ? usedBytes >= limit * MIB : usedBytes + adding.bytes > limit * MIB;
  if (!past) return;
  const more = adding === undefined ? "" : `, and ${adding.outcome(`${mib(adding.bytes)} MiB`)}`;
  throw exceeded(quotas, key, `${HOLDER[key]} ${mib(usedBytes)} MiB${more}`);
}

/** What a principal uses of every quota: runners counted, snapshots listed, disk measured (bytes). */
export type PrincipalUsage = QuotaUsage & { snapshots: number } & DiskUsage;

/** Each quota with what the principal uses of it, for system_status (disk quotas in MiB, one decimal). */
export function quotaReport(
  quotas: EffectiveQuotas,
  usage: PrincipalUsage,
): Array<{ quota: QuotaName; used: number; limit: number; source: string }> {
  const used: Record<keyof QuotaLimits, number> = {
    runningRunners: usage.runningRunners,
    cpus: usage.cpus,
    memoryMb: usage.memoryMb,
    snapshots: usage.snapshots,
    workspaceDiskMb: mib(usage.workspaceBytes),
    snapshotMb: mib(usage.snapshotBytes),
    exportMb: mib(usage.exportBytes),
  };
  return (Object.keys(NAMES) as Array<keyof QuotaLimits>).flatMap((key) => {
    const limit = quotas.limits[key];
    return limit === undefined ? [] : [{ quota: NAMES[key], used: used[key], limit, source: quotas.source[key]! }];
  });
}
