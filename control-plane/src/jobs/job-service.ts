import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { NO_AUDIT, type AuditLog } from "../audit.js";
import type { JobProfileConfig, JobsConfig } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import { NO_METER, type Meter } from "../meter.js";
import type { Jobs } from "../store/state-store.js";
import type { Principal } from "../runners/runner.js";
import { executeJob, type JobExecutionDeps, type LiveJob } from "./job-execution.js";
import { isJobEnded, jobOutcome, type JobOutcome, type JobRecord, type JobStatus } from "./job.js";
import { JobOutputLog, type JobOutputRead } from "./job-output-log.js";
import { JobJanitor } from "./job-janitor.js";
import { SCRUB_SCRIPT } from "./job-paths.js";
import { prepareJob, type JobSubmission } from "./job-submission.js";
import { SecretRedactor } from "./secret-redactor.js";

export type { JobSubmission } from "./job-submission.js";

/** Something a job did: its status changed, or it wrote output (redacted). */
export type JobEvent = { type: "status"; status: JobStatus; message: string } | { type: "output"; text: string };

/** A job as job_get shows it: the record, and its place in the queue while it waits. */
export interface JobView extends JobRecord {
  queuePosition: number | undefined;
}

interface Handle {
  live: LiveJob;
  record: JobRecord;
  abort: AbortController;
  listeners: Set<(event: JobEvent) => void>;
  done: Promise<JobRecord>;
  finish: (record: JobRecord) => void;
}

/**
 * One-shot agent jobs: validates a submission (profile, secrets, repository), queues it, runs up to
 * jobs.max_concurrent at once (each in a runner of its own, executeJob), keeps each job's record and output across
 * restarts, removes its runner when it ends (or keeps it for jobs.keep_for_s), and cancels what a previous process
 * left running.
 */
export class JobService {
  private readonly handles = new Map<string, Handle>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly logDir: string;
  private readonly janitor: JobJanitor;

  constructor(
    private readonly deps: JobExecutionDeps,
    private readonly store: Jobs,
    private readonly config: JobsConfig,
    stateDir: string,
    private readonly audit: AuditLog = NO_AUDIT,
    private readonly meter: Meter = NO_METER,
  ) {
    this.logDir = join(stateDir, "jobs");
    mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
    this.janitor = new JobJanitor(deps, store, config.retentionS, (jobId) => this.logPath(jobId), audit);
  }

  /** The profiles jobs can name. */
  profiles(): readonly JobProfileConfig[] {
    return this.config.profiles;
  }

  /** Validates and queues a job; it starts as soon as a slot is free. */
  async submit(principal: Principal, submission: JobSubmission): Promise<JobView> {
    const { profile, request, secrets } = await prepareJob(principal, submission, this.config);
    // A snapshot that is not the caller's is refused now, as runner_spawn would, not as a failed job later.
    if (request.snapshot !== undefined) {
      const wanted = request.snapshot;
      const own = await this.deps.runners.listSnapshots(principal);
      if (!own.some((snapshot) => snapshot.snapshotId === wanted || snapshot.name === wanted))
        throw new ControlPlaneError(
          "NOT_FOUND",
          `Snapshot "${wanted}" not found for this principal; list your snapshots with snapshot_list, or create one with snapshot_create.`,
        );
    }
    if (this.queue.length >= this.config.maxQueued)
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `${this.queue.length} jobs are waiting already (jobs.max_queued); try again when some have started.`,
      );
    const jobId = `j-${randomBytes(6).toString("hex")}`;
    const record: JobRecord = {
      jobId,
      principal: principal.id,
      status: "queued",
      message: "queued",
      request,
      outcome: undefined,
      runnerId: undefined,
      createdAt: new Date().toISOString(),
      startedAt: undefined,
      endedAt: undefined,
      keptUntil: undefined,
    };
    this.store.insert(record);
    const abort = new AbortController();
    let finish: (record: JobRecord) => void = () => undefined;
    const done = new Promise<JobRecord>((resolve) => (finish = resolve));
    const handle: Handle = {
      record,
      abort,
      listeners: new Set(),
      done,
      finish,
      live: {
        jobId,
        principal,
        request: record.request,
        profile,
        secrets: secrets.values,
        output: JobOutputLog.create(this.logPath(jobId), this.config.outputMaxMb * 1024 * 1024),
        redactor: {
          stdout: new SecretRedactor(secrets.values),
          stderr: new SecretRedactor(secrets.values),
          text: new SecretRedactor(secrets.values),
        },
        signal: abort.signal,
        setStatus: (status, message) => this.setStatus(handle, status, message),
        setRunner: (runnerId) => {
          handle.record.runnerId = runnerId;
          this.store.update(jobId, { runnerId });
        },
      },
    };
    handle.live.output.onText((text) => this.emit(handle, { type: "output", text }));
    this.handles.set(jobId, handle);
    this.queue.push(jobId);
    this.audit.record({
      action: "job.submit",
      principal: principal.id,
      outcome: "ok",
      job: jobId,
      profile: profile.name,
      image: submission.snapshot ? undefined : (submission.image ?? profile.image),
      snapshot: submission.snapshot,
      repository: request.repository?.url,
      // Names and where they came from, never values.
      secrets: Object.keys(secrets.sources),
    });
    this.deps.log.info({ job: jobId, principal: principal.id, profile: profile.name }, "job queued");
    this.pump();
    return this.view(handle.record);
  }

  /** A job of the principal's, with its queue position while it waits. */
  get(principal: Principal, jobId: string): JobView {
    const handle = this.handles.get(jobId);
    if (handle && handle.record.principal === principal.id) return this.view(handle.record);
    const record = this.store.get(principal.id, jobId);
    if (!record) throw notFound(jobId);
    return this.view(record);
  }

  list(principal: Principal, options: { status?: JobStatus | undefined; limit: number }): JobView[] {
    return this.store.list(principal.id, options).map((record) => {
      const handle = this.handles.get(record.jobId);
      return this.view(handle ? handle.record : record);
    });
  }

  /** Cancels a queued or running job (a running agent is interrupted: SIGINT, SIGTERM, SIGKILL). */
  async cancel(principal: Principal, jobId: string): Promise<JobView> {
    const handle = this.handles.get(jobId);
    if (!handle || handle.record.principal !== principal.id) {
      const record = this.store.get(principal.id, jobId);
      if (!record) throw notFound(jobId);
      return this.view(record);
    }
    this.audit.record({ action: "job.cancel", principal: principal.id, outcome: "ok", job: jobId });
    const queued = this.queue.indexOf(jobId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      await this.end(handle, {
        status: "cancelled",
        runnerId: undefined,
        outcome: jobOutcome("cancelled", "Cancelled while queued; it never started."),
      });
      this.pump();
    } else {
      handle.abort.abort(new ControlPlaneError("CANCELLED", "job_cancel"));
    }
    return this.view((await handle.done) ?? handle.record);
  }

  /** Resolves when the job ends (at once for an ended job). */
  async waitForEnd(principal: Principal, jobId: string): Promise<JobView> {
    const handle = this.handles.get(jobId);
    if (handle && handle.record.principal === principal.id) return this.view(await handle.done);
    return this.get(principal, jobId);
  }

  /** Follows a running job's status and output; returns how to stop. An ended job has nothing to follow. */
  follow(principal: Principal, jobId: string, listener: (event: JobEvent) => void): () => void {
    const handle = this.handles.get(jobId);
    if (!handle || handle.record.principal !== principal.id) return () => undefined;
    handle.listeners.add(listener);
    return () => handle.listeners.delete(listener);
  }

  /** Output from `cursor`, waiting up to `waitMs` for some while the job runs. */
  async readOutput(
    principal: Principal,
    jobId: string,
    request: { cursor: number; maxBytes: number; waitMs: number },
  ): Promise<JobOutputRead> {
    const handle = this.handles.get(jobId);
    if (!handle || handle.record.principal !== principal.id) {
      const record = this.store.get(principal.id, jobId);
      if (!record) throw notFound(jobId);
      if (!isJobEnded(record.status))
        return { text: "", cursor: request.cursor, nextCursor: request.cursor, eof: false, truncated: false };
      return {
        ...(await JobOutputLog.readFinished(this.logPath(jobId), request.cursor, request.maxBytes)),
        truncated: record.outcome?.outputTruncated ?? false,
      };
    }
    let read = await handle.live.output.read(request.cursor, request.maxBytes);
    if (read.text !== "" || read.eof || request.waitMs <= 0 || isJobEnded(handle.record.status)) return read;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, request.waitMs);
      const stop = this.follow(principal, jobId, () => setTimeout(done, 50));
      void handle.done.then(done);
      function done(): void {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
    read = await handle.live.output.read(request.cursor, request.maxBytes);
    return read;
  }

  /** At start-up: ends what the previous process left running (ADR 0018) and sweeps; returns how many ended. */
  async recover(): Promise<number> {
    return this.janitor.recover((jobId) => this.handles.has(jobId));
  }

  /** Starts the sweep of kept runners past their time and of ended jobs past retention. */
  start(): void {
    this.janitor.start();
  }

  close(): void {
    this.janitor.close();
  }

  /** Jobs waiting and running, for system_status. */
  counts(): { queued: number; running: number; maxConcurrent: number } {
    return { queued: this.queue.length, running: this.running, maxConcurrent: this.config.maxConcurrent };
  }

  private pump(): void {
    while (this.running < this.config.maxConcurrent && this.queue.length > 0) {
      const jobId = this.queue.shift()!;
      const handle = this.handles.get(jobId);
      if (!handle) continue;
      this.running++;
      void this.run(handle).finally(() => {
        this.running--;
        this.pump();
      });
    }
    this.meter.jobCounts(this.queue.length, this.running);
    // The queue moved: waiting jobs hear their new position.
    this.queue.forEach((jobId, index) => {
      const waiting = this.handles.get(jobId);
      if (waiting)
        this.emit(waiting, { type: "status", status: "queued", message: queuedMessage(index, this.queue.length) });
    });
  }

  private async run(handle: Handle): Promise<void> {
    const startedAt = new Date().toISOString();
    handle.record.startedAt = startedAt;
    this.store.update(handle.record.jobId, { startedAt });
    try {
      await this.end(handle, await executeJob(this.deps, handle.live));
    } catch (error) {
      this.deps.log.error({ err: error, job: handle.record.jobId }, "a job ended unexpectedly");
    }
  }

  /**
   * Settles a job: scrubs and keeps, or removes, its runner; stores the outcome with the output's size and tail (taken
   * here, once the log is flushed); tells its followers.
   */
  private async end(
    handle: Handle,
    finished: { status: JobStatus; runnerId: string | undefined; outcome: JobOutcome },
  ): Promise<void> {
    const { live, record } = handle;
    let keptUntil: string | undefined;
    if (finished.runnerId) {
      const keep = record.request.keep;
      // A kept runner keeps /work and the processes, never the secrets or the task.
      if (keep) await this.scrub(live, finished.runnerId);
      if (keep || !(await this.janitor.removeRunner(live.principal, finished.runnerId)))
        keptUntil = new Date(Date.now() + (keep ? record.request.keepForS * 1000 : 0)).toISOString();
    }
    await live.output.end();
    const outcome: JobOutcome = {
      ...finished.outcome,
      outputBytes: live.output.bytes,
      outputTruncated: live.output.truncated,
      outputTail: live.output.tail,
    };
    const endedAt = new Date().toISOString();
    Object.assign(record, { status: finished.status, message: outcome.message, outcome, endedAt, keptUntil });
    this.store.update(record.jobId, {
      status: finished.status,
      message: outcome.message,
      outcome,
      endedAt,
      ...(keptUntil ? { keptUntil } : {}),
    });
    this.audit.record({
      action: "job.end",
      principal: record.principal,
      outcome: "ok",
      job: record.jobId,
      status: finished.status,
      reason: outcome.reason,
      exitCode: outcome.exitCode,
      runner: finished.runnerId,
      kept: keptUntil !== undefined && record.request.keep,
      durationMs: outcome.durationMs,
    });
    this.meter.jobEnded(finished.status, (Date.now() - new Date(record.createdAt).getTime()) / 1000);
    this.deps.log.info(
      { job: record.jobId, principal: record.principal, status: finished.status, reason: outcome.reason },
      "job ended",
    );
    this.emit(handle, { type: "status", status: finished.status, message: outcome.message });
    this.handles.delete(record.jobId);
    handle.finish(record);
  }

  private setStatus(handle: Handle, status: JobStatus, message: string): void {
    // A pull reports often with the same words: the record and the followers hear of changes only.
    if (handle.record.status === status && handle.record.message === message) return;
    handle.record.status = status;
    handle.record.message = message;
    this.store.update(handle.record.jobId, { status, message });
    this.emit(handle, { type: "status", status, message });
  }

  private emit(handle: Handle, event: JobEvent): void {
    for (const listener of handle.listeners) listener(event);
  }

  private async scrub(live: LiveJob, runnerId: string): Promise<void> {
    try {
      await this.deps.execs.start(live.principal, runnerId, {
        command: ["/bin/sh", "-c", SCRUB_SCRIPT],
        cwd: "/",
        timeoutMs: 30_000,
      });
    } catch (error) {
      this.deps.log.warn(
        { err: error, job: live.jobId, runner: runnerId },
        "could not remove a kept job runner's secrets",
      );
    }
  }

  private view(record: JobRecord): JobView {
    const index = this.queue.indexOf(record.jobId);
    if (index < 0) return { ...record, queuePosition: undefined };
    return {
      ...record,
      message: queuedMessage(index, this.queue.length),
      queuePosition: index + 1,
    };
  }

  private logPath(jobId: string): string {
    return join(this.logDir, `${jobId}.log`);
  }
}

function queuedMessage(index: number, length: number): string {
  return `queued: position ${index + 1} of ${length}`;
}

function notFound(jobId: string): ControlPlaneError {
  return new ControlPlaneError("NOT_FOUND", `No job "${jobId}" of yours; job_list shows your jobs.`);
}
