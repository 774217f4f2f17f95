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
import { isJobEnded, type JobOutcome, type JobRecord, type JobRepository, type JobStatus } from "./job.js";
import { JobOutputLog, type JobOutputRead } from "./job-output-log.js";
import { checkRepositoryUrl, SCRUB_SCRIPT } from "./job-paths.js";
import { resolveJobSecrets, type GivenSecret } from "./job-secrets.js";
import { SecretRedactor } from "./secret-redactor.js";

/** What job_run asks for (the tool's arguments, names as in the code). */
export interface JobSubmission {
  task: string;
  profile?: string | undefined;
  image?: string | undefined;
  snapshot?: string | undefined;
  repository?: JobRepository | undefined;
  secrets?: Record<string, GivenSecret> | undefined;
  env?: Record<string, string> | undefined;
  storage?: "volume" | "tmpfs" | undefined;
  cpus?: number | undefined;
  memoryMb?: number | undefined;
  network?: boolean | undefined;
  timeoutS?: number | undefined;
  keep?: boolean | undefined;
  artifacts?: string[] | undefined;
}

/** Something a job did: its status changed, or it wrote output (redacted). */
export type JobEvent = { type: "status"; status: JobStatus; message: string } | { type: "output"; text: string };

/** A job as job_get shows it: the record, and its place in the queue while it waits. */
export interface JobView extends JobRecord {
  queuePosition: number | undefined;
  queueLength: number | undefined;
}

/** How often kept runners and old jobs are checked. */
const SWEEP_INTERVAL_MS = 30_000;

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
  private sweeper: NodeJS.Timeout | undefined;
  private readonly logDir: string;

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
  }

  /** The profiles jobs can name. */
  profiles(): readonly JobProfileConfig[] {
    return this.config.profiles;
  }

  /** Validates and queues a job; it starts as soon as a slot is free. */
  async submit(principal: Principal, submission: JobSubmission): Promise<JobView> {
    const profileName = submission.profile ?? "shell";
    const profile = this.config.profiles.find((candidate) => candidate.name === profileName);
    if (!profile)
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `There is no job profile "${profileName}"; this server has ${this.config.profiles.map((known) => `"${known.name}"`).join(", ")} (system_status lists them).`,
      );
    const timeoutS = submission.timeoutS ?? profile.timeoutS;
    if (timeoutS > this.config.maxTimeoutS)
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `timeout_s ${timeoutS} is above this server's jobs.max_timeout_s (${this.config.maxTimeoutS}); ask for less.`,
      );
    const network = submission.network ?? profile.network;
    const repository = submission.repository;
    if (repository) {
      checkRepositoryUrl(repository.url);
      if (!network)
        throw new ControlPlaneError(
          "INVALID_ARGUMENT",
          "A job with a repository needs network: true (its runner clones the repository).",
        );
    }
    const secrets = await resolveJobSecrets(principal, submission.secrets ?? {}, profile, this.config.secrets);
    if (repository?.credential !== undefined && !secrets.values.has(repository.credential))
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `repository.credential names ${repository.credential}, which is not one of this job's secrets; pass it in secrets too.`,
      );
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
      request: {
        profile: profile.name,
        task: submission.task,
        image: submission.image,
        snapshot: submission.snapshot,
        repository,
        secrets: secrets.sources,
        env: submission.env ?? {},
        storage: submission.storage ?? "volume",
        cpus: submission.cpus,
        memoryMb: submission.memoryMb,
        network,
        timeoutS,
        keep: submission.keep ?? false,
        keepForS: this.config.keepForS,
        artifacts: submission.artifacts ?? [],
      },
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
    const texts = new SecretRedactor(secrets.values);
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
          text: texts,
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
      repository: repository?.url,
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
        outcome: {
          exitCode: null,
          signal: null,
          reason: "cancelled",
          message: "Cancelled while queued; it never started.",
          durationMs: 0,
          outputBytes: 0,
          outputTruncated: false,
          outputTail: "",
        },
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

  /**
   * At start-up: jobs the previous process left queued or running cannot go on (their secrets lived in its memory),
   * so they end cancelled and their runners are removed; kept runners past their time are removed too.
   */
  async recover(): Promise<number> {
    const orphans = this.store.active().filter((record) => !this.handles.has(record.jobId));
    for (const record of orphans) {
      const principal: Principal = { id: record.principal };
      const runnerId = record.runnerId ?? (record.status === "queued" ? undefined : record.jobId);
      const removed = runnerId ? await this.removeRunner(principal, runnerId) : true;
      const outcome: JobOutcome = {
        exitCode: null,
        signal: null,
        reason: "control_plane_restart",
        message: `The control plane restarted while this job was ${record.status}; it was cancelled${runnerId ? (removed ? " and its runner removed" : "") : ""}. Run it again.`,
        durationMs: 0,
        outputBytes: 0,
        outputTruncated: false,
        outputTail: "",
      };
      this.store.update(record.jobId, {
        status: "cancelled",
        message: outcome.message,
        endedAt: new Date().toISOString(),
        outcome,
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

  /** Starts the sweeper (kept runners past their time, ended jobs past retention). */
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

  /** Jobs waiting and running, for system_status. */
  counts(): { queued: number; running: number; maxConcurrent: number } {
    return { queued: this.queue.length, running: this.running, maxConcurrent: this.config.maxConcurrent };
  }

  private async sweep(): Promise<void> {
    const now = new Date();
    for (const record of this.store.kept()) {
      if (record.keptUntil === undefined || new Date(record.keptUntil) > now) continue;
      if (!record.runnerId || (await this.removeRunner({ id: record.principal }, record.runnerId)))
        this.store.update(record.jobId, { keptUntil: null });
    }
    const before = new Date(now.getTime() - this.config.retentionS * 1000).toISOString();
    for (const jobId of this.store.pruneEnded(before)) await JobOutputLog.remove(this.logPath(jobId));
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

  /** Settles a job: scrubs and keeps, or removes, its runner; stores the outcome; tells its followers. */
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
      if (keep || !(await this.removeRunner(live.principal, finished.runnerId)))
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

  /** Removes a job's runner and its workspace; false when that failed (the sweeper tries again). */
  private async removeRunner(principal: Principal, runnerId: string): Promise<boolean> {
    try {
      await this.deps.runners.remove(principal, runnerId, { removeVolume: true });
      return true;
    } catch (error) {
      if (error instanceof ControlPlaneError && error.code === "NOT_FOUND") return true;
      this.deps.log.warn({ err: error, runner: runnerId }, "could not remove a job's runner; trying again later");
      return false;
    }
  }

  private view(record: JobRecord): JobView {
    const index = this.queue.indexOf(record.jobId);
    if (index < 0) return { ...record, queuePosition: undefined, queueLength: undefined };
    return {
      ...record,
      message: queuedMessage(index, this.queue.length),
      queuePosition: index + 1,
      queueLength: this.queue.length,
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
