import type { PrincipalPolicy } from "../../auth/principal-policy.js";
import { QUOTA_NAMES, type QuotaLimits } from "../../config.js";
import type { Logger } from "../../log.js";
import type { Meter } from "../../meter.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import { measureQuotaUsage, recordQuotaUsage, totalQuotaUsage, type QuotaUsageByName } from "../quota-usage.js";
import { effectiveQuotas } from "../quotas.js";

/** The quotas a principal can pass without being refused at once: disk fills while runners write. */
const DISK_QUOTAS = ["workspaceDiskMb", "snapshotMb", "exportMb"] as const satisfies ReadonlyArray<keyof QuotaLimits>;

export interface QuotaWatchDeps {
  runtime: Pick<ContainerRuntime, "containers" | "workspaces" | "snapshots">;
  exportRoot: string;
  /** quotas.* */
  serverQuotas: QuotaLimits;
  /** The principals this process has served, with the policy of their latest call (those are the ones with sessions). */
  principals(): ReadonlyMap<string, PrincipalPolicy | undefined>;
  notify(principal: string, text: string): void;
  meter: Meter;
  log: Logger;
}

/**
 * Measures every principal's usage of every quota every lifecycle.gc_interval_s: sets devhatchery_quota_usage (all
 * principals together, one series per quota), and warns a principal's sessions once when it is found at or over a
 * disk quota (again after it got back under), since writes to /work cannot be refused as they happen.
 */
export class QuotaWatch {
  private readonly over = new Set<string>();

  constructor(private readonly deps: QuotaWatchDeps) {}

  async pass(): Promise<Map<string, QuotaUsageByName>> {
    const usage = await measureQuotaUsage(this.deps.runtime, this.deps.exportRoot);
    recordQuotaUsage(this.deps.meter, totalQuotaUsage(usage));
    for (const [principal, policy] of this.deps.principals()) {
      const quotas = effectiveQuotas(this.deps.serverQuotas, policy);
      for (const key of DISK_QUOTAS) {
        const limit = quotas.limits[key];
        const name = QUOTA_NAMES[key];
        const used = usage.get(principal)?.[name] ?? 0;
        const marker = `${principal}\0${name}`;
        if (limit === undefined || used < limit) {
          this.over.delete(marker);
          continue;
        }
        if (this.over.has(marker)) continue;
        this.over.add(marker);
        this.deps.notify(principal, overText(name, used, limit));
      }
    }
    return usage;
  }

  /** Runs a pass every `intervalS`; returns the stop. */
  start(intervalS: number): () => void {
    const timer = setInterval(() => {
      this.pass().catch((error: unknown) =>
        this.deps.log.warn({ err: error }, "measuring quota usage failed; it runs again at the next interval"),
      );
    }, intervalS * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }
}

function overText(name: string, used: number, limit: number): string {
  const fix = {
    workspace_disk_mb:
      "new runners are refused until you free space: delete files in /work (exec) or remove workspaces you no longer need (volume_list, volume_remove)",
    snapshot_mb: "new snapshots are refused until you remove some (snapshot_list, snapshot_remove)",
    export_mb:
      "new exports to the export root are refused; export into a read-write mount of a runner, or ask the operator to remove old exports",
  }[name];
  return `Your usage of quota ${name} is ${Math.round(used * 10) / 10} MiB of ${limit}: ${fix ?? "free space"}.`;
}
