import { NO_AUDIT, type AuditLog } from "../audit.js";
import { ControlPlaneError } from "../errors.js";
import type { Principal } from "../runners/runner.js";
import type { Jobs } from "../store/state-store.js";
import { jobOutcome } from "./job.js";
import type { JobExecutionDeps } from "./job-execution.js";
import { JobOutputLog } from "./job-output-log.js";

/** How often kept runners and old jobs are checked. */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * What jobs leave behind, cleaned up: runners of jobs a previous process ran (cancelled at start-up), runners kept
 * past their time or whose removal failed, and ended jobs (record and output) past retention.
 */
export class JobJanitor {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: JobExecutionDeps,
    private readonly store: Jobs,
    private readonly retentionS: number,
    private readonly logPath: (jobId: string) => string,
    private readonly audit: AuditLog = NO_AUDIT,
  ) {}

  /**
   * Jobs the previous process left queued or running cannot go on (their secrets lived in its memory), so they end
   * cancelled and their runners are removed (by recorded id, else by the job id as alias); then a sweep.
   */
  async recover(isLive: (jobId: string) => boolean): Promise<number> {
    const orphans = this.store.active().filter((record) => !isLive(record.jobId));
    for (const record of orphans) {
      const principal: Principal = { id: record.principal };
      const runnerId = record.runnerId ?? (record.status === "queued" ? undefined : record.jobId);
      const removed = runnerId ? await this.removeRunner(principal, runnerId) : true;
      const outcome = jobOutcome(
        "control_plane_restart",
        `The control plane restarted while this job was ${record.status}; it was cancelled${runnerId ? (removed ? " and its runner removed" : "") : ""}. Run it again.`,
      );
      this.store.update(record.jobId, {
        status: "cancelled",
        message: outcome.message,
        endedAt: new Date().toISOString(),
        outcome,
        // A runner whose removal failed is the sweep's next time.
        ...(runnerId && !removed ? { keptUntil: new Date().toISOString() } : {}),
      });
      this.audit.record({
        action: "job.end",
        principal: record.principal,
        outcome: "ok",
        job: record.jobId,
        status: "cancelled",
        reason: outcome.reason,
      });
    }
    if (orphans.length > 0)
      this.deps.log.warn({ jobs: orphans.length }, "cancelled jobs the previous process left running");
    await this.sweep();
    return orphans.length;
  }

  start(): void {
    this.sweeper ??= setInterval(() => {
      this.sweep().catch((error: unknown) => this.deps.log.warn({ err: error }, "the job sweep failed"));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Removes a job's runner and its workspace; false when that failed (the sweep tries again). */
  async removeRunner(principal: Principal, runnerId: string): Promise<boolean> {
    try {
      await this.deps.runners.remove(principal, runnerId, { removeVolume: true });
      return true;
    } catch (error) {
      if (error instanceof ControlPlaneError && error.code === "NOT_FOUND") return true;
      this.deps.log.warn({ err: error, runner: runnerId }, "could not remove a job's runner; trying again later");
      return false;
    }
  }

  private async sweep(): Promise<void> {
    const now = new Date();
    for (const record of this.store.kept()) {
      if (record.keptUntil === undefined || new Date(record.keptUntil) > now) continue;
      const runnerId = record.runnerId ?? record.jobId;
      if (await this.removeRunner({ id: record.principal }, runnerId))
        this.store.update(record.jobId, { keptUntil: null });
    }
    const before = new Date(now.getTime() - this.retentionS * 1000).toISOString();
    for (const jobId of this.store.pruneEnded(before)) await JobOutputLog.remove(this.logPath(jobId));
  }
}
