import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import type { JobOutcome, JobRecord, JobRequest, JobStatus } from "../jobs/job.js";
import type { JobUpdate, Jobs } from "./state-store.js";

type Row = Record<string, SQLOutputValue>;

/** Jobs in SQLite (jobs), one row per job, scoped to its principal. */
export class SqliteJobs implements Jobs {
  private readonly statements: Record<
    "insert" | "select" | "ofPrincipal" | "ofPrincipalWithStatus" | "active" | "kept" | "ended" | "remove",
    StatementSync
  >;
  private readonly db: DatabaseSync;
  private readonly updates = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
    this.statements = {
      insert: db.prepare(
        `INSERT INTO jobs (job_id, principal, status, message, request, outcome, runner_id, created_at, started_at, ended_at, kept_until)
         VALUES ($jobId, $principal, $status, $message, $request, NULL, NULL, $createdAt, NULL, NULL, NULL)`,
      ),
      select: db.prepare("SELECT * FROM jobs WHERE job_id = $jobId"),
      ofPrincipal: db.prepare(
        "SELECT * FROM jobs WHERE principal = $principal ORDER BY created_at DESC, job_id DESC LIMIT $limit",
      ),
      ofPrincipalWithStatus: db.prepare(
        "SELECT * FROM jobs WHERE principal = $principal AND status = $status ORDER BY created_at DESC, job_id DESC LIMIT $limit",
      ),
      active: db.prepare(
        "SELECT * FROM jobs WHERE status IN ('queued', 'starting', 'cloning', 'running', 'collecting') ORDER BY created_at",
      ),
      kept: db.prepare("SELECT * FROM jobs WHERE kept_until IS NOT NULL ORDER BY kept_until"),
      ended: db.prepare(
        "SELECT job_id FROM jobs WHERE ended_at IS NOT NULL AND ended_at < $before AND kept_until IS NULL",
      ),
      remove: db.prepare("DELETE FROM jobs WHERE job_id = $jobId"),
    };
  }

  insert(job: JobRecord): void {
    this.statements.insert.run({
      jobId: job.jobId,
      principal: job.principal,
      status: job.status,
      message: job.message,
      request: JSON.stringify(job.request),
      createdAt: job.createdAt,
    });
  }

  get(principal: string, jobId: string): JobRecord | undefined {
    const row = this.statements.select.get({ jobId });
    return row === undefined || row.principal !== principal ? undefined : toJob(row);
  }

  update(jobId: string, update: JobUpdate): void {
    const columns: Record<string, string | null> = {};
    if (update.status !== undefined) columns.status = update.status;
    if (update.message !== undefined) columns.message = update.message;
    if (update.runnerId !== undefined) columns.runner_id = update.runnerId;
    if (update.startedAt !== undefined) columns.started_at = update.startedAt;
    if (update.endedAt !== undefined) columns.ended_at = update.endedAt;
    if (update.outcome !== undefined) columns.outcome = JSON.stringify(update.outcome);
    if (update.keptUntil !== undefined) columns.kept_until = update.keptUntil;
    const names = Object.keys(columns);
    if (names.length === 0) return;
    // Column names come from the fixed list above, never from input; a job's few update shapes are prepared once.
    const sql = `UPDATE jobs SET ${names.map((name) => `${name} = $${name}`).join(", ")} WHERE job_id = $jobId`;
    let statement = this.updates.get(sql);
    if (!statement) this.updates.set(sql, (statement = this.db.prepare(sql)));
    statement.run({ ...columns, jobId });
  }

  list(principal: string, options: { status?: JobStatus | undefined; limit: number }): JobRecord[] {
    const rows =
      options.status === undefined
        ? this.statements.ofPrincipal.all({ principal, limit: options.limit })
        : this.statements.ofPrincipalWithStatus.all({ principal, status: options.status, limit: options.limit });
    return rows.map(toJob);
  }

  active(): JobRecord[] {
    return this.statements.active.all().map(toJob);
  }

  kept(): JobRecord[] {
    return this.statements.kept.all().map(toJob);
  }

  pruneEnded(before: string): string[] {
    const ids = this.statements.ended.all({ before }).map((row) => String(row.job_id));
    for (const jobId of ids) this.statements.remove.run({ jobId });
    return ids;
  }
}

function text(value: SQLOutputValue | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function toJob(row: Row): JobRecord {
  const outcome = text(row.outcome);
  return {
    jobId: String(row.job_id),
    principal: String(row.principal),
    status: String(row.status) as JobStatus,
    message: String(row.message),
    request: JSON.parse(String(row.request)) as JobRequest,
    outcome: outcome === undefined ? undefined : (JSON.parse(outcome) as JobOutcome),
    runnerId: text(row.runner_id),
    createdAt: String(row.created_at),
    startedAt: text(row.started_at),
    endedAt: text(row.ended_at),
    keptUntil: text(row.kept_until),
  };
}
