import { QUOTA_NAMES, type QuotaName } from "../config.js";
import type { Meter } from "../meter.js";
import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { RunnerSnapshot } from "../runtime/runner-snapshots.js";
import { isUnclaimedPooled } from "../runtime/runner-ownership.js";
import { exportBytesByPrincipal } from "./exports/export-usage.js";
import { MIB, quotaUsage } from "./quotas.js";

/** What snapshot_mb counts of these snapshots: the layer each one's commit added, never the base layers they share. */
export async function snapshotBytes(
  runtime: Pick<ContainerRuntime, "snapshots">,
  snapshots: readonly Pick<RunnerSnapshot, "image">[],
): Promise<number> {
  const sizes = await Promise.all(snapshots.map((snapshot) => runtime.snapshots.addedBytes(snapshot.image)));
  return sizes.reduce((sum, bytes) => sum + bytes, 0);
}

/** Every principal's workspace bytes, as workspace_disk_mb measures them (one `docker system df`). */
export async function workspaceBytesByPrincipal(
  runtime: Pick<ContainerRuntime, "workspaces">,
): Promise<Map<string, number>> {
  const bytes = new Map<string, number>();
  for (const volume of await runtime.workspaces.listAll({ sizes: true }))
    bytes.set(volume.principal, (bytes.get(volume.principal) ?? 0) + (volume.sizeBytes ?? 0));
  return bytes;
}

/** One principal's usage of every quota, in the quota's own unit (runners, cpus, MiB, snapshots). */
export type QuotaUsageByName = Record<QuotaName, number>;

/**
 * What every principal uses of every quota now, whether or not a quota is set: runners and snapshots counted, disk
 * measured as the quotas measure it (one `docker system df`, snapshot layers, the export root's manifests). Slow;
 * for periodic passes (gauges, warnings), not for every call.
 */
export async function measureQuotaUsage(
  runtime: Pick<ContainerRuntime, "containers" | "workspaces" | "snapshots">,
  exportRoot: string,
): Promise<Map<string, QuotaUsageByName>> {
  const [containers, workspaces, snapshots, exports] = await Promise.all([
    runtime.containers.listAllRunners().then((all) => all.filter((runner) => !isUnclaimedPooled(runner))),
    workspaceBytesByPrincipal(runtime),
    runtime.snapshots.listAll(),
    exportBytesByPrincipal(exportRoot),
  ]);
  const principals = new Set([
    ...containers.map((container) => container.principal),
    ...workspaces.keys(),
    ...snapshots.map((snapshot) => snapshot.principal),
    ...exports.keys(),
  ]);
  const usage = new Map<string, QuotaUsageByName>();
  for (const principal of principals) {
    const runners = quotaUsage(containers.filter((container) => container.principal === principal));
    const own = snapshots.filter((snapshot) => snapshot.principal === principal);
    usage.set(principal, {
      running_runners: runners.runningRunners,
      cpus: runners.cpus,
      memory_mb: runners.memoryMb,
      snapshots: own.length,
      workspace_disk_mb: (workspaces.get(principal) ?? 0) / MIB,
      snapshot_mb: (await snapshotBytes(runtime, own)) / MIB,
      export_mb: (exports.get(principal) ?? 0) / MIB,
    });
  }
  return usage;
}

/** The usage of every principal added up, per quota. */
export function totalQuotaUsage(usage: ReadonlyMap<string, QuotaUsageByName>): QuotaUsageByName {
  const total = Object.fromEntries(Object.values(QUOTA_NAMES).map((name) => [name, 0])) as QuotaUsageByName;
  for (const own of usage.values()) for (const name of Object.values(QUOTA_NAMES)) total[name] += own[name];
  return total;
}

/** Sets the devhatchery_quota_usage gauge of each quota given (all principals together). */
export function recordQuotaUsage(meter: Meter, usage: Partial<QuotaUsageByName>): void {
  for (const [quota, used] of Object.entries(usage) as Array<[QuotaName, number | undefined]>)
    if (used !== undefined) meter.quotaUsage(quota, used);
}
