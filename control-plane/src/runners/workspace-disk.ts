import type { ContainerRuntime } from "../runtime/container-runtime.js";
import { checkDiskQuota, MIB, type EffectiveQuotas } from "./quotas.js";

/** How long a principal's measured workspace disk is reused by quota checks and system_status. */
export const WORKSPACE_DISK_MAX_AGE_MS = 30_000;

/**
 * A principal's workspace volumes' bytes as the engine measures them (`docker system df`, slow on large volumes),
 * reused for a short while: asks within `maxAgeMs` share one measurement until the owner forgets it (a call reached
 * one of the principal's runners, or it removed a workspace), and `fresh` always measures again (a refusal must never
 * come from a measurement older than the space the principal has freed since).
 */
export class WorkspaceDisk {
  private readonly measured = new Map<string, { bytes: Promise<number>; at: number }>();

  constructor(
    private readonly runtime: Pick<ContainerRuntime, "workspaces">,
    private readonly maxAgeMs = WORKSPACE_DISK_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The principal's workspace bytes, measured at most `maxAgeMs` ago, or for this call with `fresh`. */
  async bytes(principal: string, options: { fresh?: boolean } = {}): Promise<number> {
    const recent = options.fresh ? undefined : this.recent(principal);
    if (recent !== undefined) return recent;
    this.prune();
    const bytes = this.measure(principal);
    const entry = { bytes, at: this.now() };
    this.measured.set(principal, entry);
    bytes.catch(() => {
      // A failed measurement is not kept: the next ask measures again.
      if (this.measured.get(principal) === entry) this.measured.delete(principal);
    });
    return bytes;
  }

  /**
   * Refuses a spawn or start (QUOTA_EXCEEDED) while the principal's workspaces use its workspace_disk_mb quota or
   * more. A recent measurement may let it pass; a refusal always comes from a fresh one, since the principal may have
   * freed space since.
   */
  async check(principal: string, quotas: EffectiveQuotas): Promise<void> {
    const limit = quotas.limits.workspaceDiskMb;
    if (limit === undefined) return;
    const recent = this.recent(principal);
    if (recent !== undefined && (await recent) < limit * MIB) return;
    checkDiskQuota(quotas, "workspaceDiskMb", await this.bytes(principal, { fresh: true }));
  }

  /** Drops the principal's measurement (it may have written or freed space since), so the next ask measures again. */
  forget(principal: string): void {
    this.measured.delete(principal);
  }

  /** The principal's measurement when it is recent enough to reuse. */
  private recent(principal: string): Promise<number> | undefined {
    const last = this.measured.get(principal);
    return last !== undefined && this.now() - last.at < this.maxAgeMs ? last.bytes : undefined;
  }

  private async measure(principal: string): Promise<number> {
    const volumes = await this.runtime.workspaces.list(principal, { sizes: true });
    return volumes.reduce((sum, volume) => sum + (volume.sizeBytes ?? 0), 0);
  }

  /** Forgets measurements too old to be used, so the map holds only principals measured lately. */
  private prune(): void {
    const now = this.now();
    for (const [principal, entry] of this.measured)
      if (now - entry.at >= this.maxAgeMs) this.measured.delete(principal);
  }
}
