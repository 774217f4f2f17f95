import type { PrincipalPolicy } from "../auth/principal-policy.js";
import type { QuotaLimits } from "../config.js";
import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import { exportBytesOf } from "./exports/export-usage.js";
import { snapshotBytes } from "./quota-usage.js";
import {
  checkRunnerQuotas,
  effectiveQuotas,
  quotaReport,
  quotaUsage,
  type CountedRunner,
  type EffectiveQuotas,
  type QuotaUsage,
} from "./quotas.js";
import type { Principal } from "./runner.js";
import type { InFlightSpawn } from "./runner-lookup.js";
import { WorkspaceDisk } from "./workspace-disk.js";

/** What a runner about to start (or thaw) adds: a runner, its cpus, its memory (thawing adds only cpus). */
export interface RunnerAddition {
  runners: number;
  cpus: number;
  memoryMb: number;
}

/**
 * The runner service's view of quotas: each principal's effective quotas (the server's narrowed by its policy),
 * what it holds as they count it (its containers and its spawns still being created), the refusals, and the report
 * system_status shows. Remembers the principals it served and their latest policy, for the periodic quota warnings.
 */
export class PrincipalQuotas {
  private readonly served = new Map<string, PrincipalPolicy | undefined>();
  /** Measured workspace disk per principal (workspace_disk_mb), reused briefly. */
  private readonly disk: WorkspaceDisk;

  constructor(
    private readonly runtime: Pick<ContainerRuntime, "containers" | "workspaces" | "snapshots">,
    private readonly server: QuotaLimits,
    private readonly inFlight: ReadonlyMap<string, InFlightSpawn>,
    private readonly exportRoot: string | undefined,
  ) {
    this.disk = new WorkspaceDisk(runtime);
  }

  /** The principal's quotas: the server's, narrowed by its policy. */
  of(principal: Principal): EffectiveQuotas {
    this.served.set(principal.id, principal.policy);
    return effectiveQuotas(this.server, principal.policy);
  }

  /** A call reached one of the principal's runners: it may have written, so its disk is measured again next time. */
  noteCall(principal: Principal): void {
    this.disk.forget(principal.id);
    this.served.set(principal.id, principal.policy);
  }

  /** The principal freed disk (a workspace removed). */
  forgetDisk(principalId: string): void {
    this.disk.forget(principalId);
  }

  /** The principals this process has served, with the policy of their latest call. */
  servedPrincipals(): ReadonlyMap<string, PrincipalPolicy | undefined> {
    return this.served;
  }

  /**
   * Refuses (QUOTA_EXCEEDED) what would take the principal past a runner quota; `containers` are its runners now
   * (listed when omitted and a quota is set). With `disk`, also refuses while its workspaces fill workspace_disk_mb.
   */
  async check(
    principal: Principal,
    adding: RunnerAddition,
    options: { containers?: RunnerContainer[]; disk?: boolean } = {},
  ): Promise<void> {
    const quotas = this.of(principal);
    if (Object.keys(quotas.limits).length === 0) return;
    const containers = options.containers ?? (await this.runtime.containers.listRunners(principal.id));
    checkRunnerQuotas(quotas, this.usage(principal, containers), adding);
    if (options.disk) await this.disk.check(principal.id, quotas);
  }

  /** Each quota of the principal with what it uses of it (system_status); only what a quota is set for is measured. */
  async report(principal: Principal): Promise<ReturnType<typeof quotaReport>> {
    const quotas = this.of(principal);
    if (Object.keys(quotas.limits).length === 0) return [];
    const { limits } = quotas;
    const usage = this.usage(principal, await this.runtime.containers.listRunners(principal.id));
    const snapshots =
      limits.snapshots === undefined && limits.snapshotMb === undefined
        ? []
        : await this.runtime.snapshots.list(principal.id);
    const [workspaceBytes, snapshotBytesUsed, exportBytes] = await Promise.all([
      limits.workspaceDiskMb === undefined ? 0 : this.disk.bytes(principal.id),
      limits.snapshotMb === undefined ? 0 : snapshotBytes(this.runtime, snapshots),
      limits.exportMb === undefined || this.exportRoot === undefined ? 0 : exportBytesOf(this.exportRoot, principal.id),
    ]);
    return quotaReport(quotas, {
      ...usage,
      snapshots: snapshots.length,
      workspaceBytes,
      snapshotBytes: snapshotBytesUsed,
      exportBytes,
    });
  }

  /** What the principal holds as quotas count it: its containers, and spawns still being created. */
  private usage(principal: Principal, containers: RunnerContainer[]): QuotaUsage {
    const counted: CountedRunner[] = containers.map((container) => ({
      runnerId: container.runnerId,
      state: container.state,
      limits: container.limits,
    }));
    for (const [runnerId, spawn] of this.inFlight) {
      if (spawn.principal === principal.id && !containers.some((container) => container.runnerId === runnerId))
        counted.push({ runnerId, state: "starting", limits: spawn.info.limits });
    }
    return quotaUsage(counted);
  }
}
