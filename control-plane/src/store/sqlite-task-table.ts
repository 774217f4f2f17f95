import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import type { TaskRecord, TaskStatus, TaskUpdate } from "./state-store.js";

type Row = Record<string, SQLOutputValue>;

const LIVE = "(expires_at IS NULL OR expires_at > $now)";

/** MCP task records in SQLite, each looked up by principal and task id; expired ones are invisible before pruning. */
export class SqliteTaskTable {
  private readonly insert: StatementSync;
  private readonly select: StatementSync;
  private readonly update: StatementSync;
  private readonly page: StatementSync;
  private readonly prune: StatementSync;
  private readonly failWorking: StatementSync;

  constructor(db: DatabaseSync) {
    this.insert = db.prepare(
      `INSERT INTO tasks (task_id, principal, status, status_message, request, result, created_at, last_updated_at, ttl_ms, poll_interval_ms, expires_at)
       VALUES ($taskId, $principal, $status, $statusMessage, $request, $result, $createdAt, $lastUpdatedAt, $ttlMs, $pollIntervalMs, $expiresAt)`,
    );
    this.select = db.prepare(`SELECT * FROM tasks WHERE principal = $principal AND task_id = $taskId AND ${LIVE}`);
    this.update = db.prepare(
      `UPDATE tasks SET
         status = coalesce($status, status),
         status_message = CASE WHEN $setMessage THEN $statusMessage ELSE status_message END,
         result = CASE WHEN $setResult THEN $result ELSE result END,
         last_updated_at = $lastUpdatedAt
       WHERE principal = $principal AND task_id = $taskId AND ${LIVE}`,
    );
    // Paging follows insertion order; a cursor that is not one of the principal's live tasks yields an empty page.
    this.page = db.prepare(
      `SELECT * FROM tasks WHERE principal = $principal AND ${LIVE}
         AND seq > coalesce((SELECT seq FROM tasks WHERE principal = $principal AND task_id = $after), CASE WHEN $after IS NULL THEN 0 END)
       ORDER BY seq LIMIT $limit`,
    );
    this.prune = db.prepare("DELETE FROM tasks WHERE expires_at IS NOT NULL AND expires_at <= $now");
    this.failWorking = db.prepare(
      `UPDATE tasks SET status = 'failed', status_message = $message, last_updated_at = $at
       WHERE status IN ('working', 'input_required') AND ${LIVE}`,
    );
  }

  /** Marks every unfinished task failed (their work died with the previous process); returns how many. */
  failUnfinished(message: string, at: string): number {
    return Number(this.failWorking.run({ message, at, now: at }).changes);
  }

  create(task: TaskRecord): void {
    const expiresAt = task.ttlMs === null ? null : new Date(Date.parse(task.createdAt) + task.ttlMs).toISOString();
    this.insert.run({
      taskId: task.taskId,
      principal: task.principal,
      status: task.status,
      statusMessage: task.statusMessage ?? null,
      request: toJson(task.request),
      result: toJson(task.result),
      createdAt: task.createdAt,
      lastUpdatedAt: task.lastUpdatedAt,
      ttlMs: task.ttlMs,
      pollIntervalMs: task.pollIntervalMs ?? null,
      expiresAt,
    });
  }

  get(principal: string, taskId: string): TaskRecord | undefined {
    const row = this.select.get({ principal, taskId, now: nowIso() });
    return row === undefined ? undefined : toTaskRecord(row);
  }

  apply(principal: string, taskId: string, update: TaskUpdate): boolean {
    const outcome = this.update.run({
      principal,
      taskId,
      now: nowIso(),
      status: update.status ?? null,
      setMessage: "statusMessage" in update ? 1 : 0,
      statusMessage: update.statusMessage ?? null,
      setResult: "result" in update ? 1 : 0,
      result: toJson(update.result),
      lastUpdatedAt: update.lastUpdatedAt,
    });
    return Number(outcome.changes) > 0;
  }

  list(principal: string, options: { afterTaskId?: string; limit: number }): TaskRecord[] {
    const rows = this.page.all({ principal, after: options.afterTaskId ?? null, limit: options.limit, now: nowIso() });
    return rows.map(toTaskRecord);
  }

  pruneExpired(now: Date): number {
    return Number(this.prune.run({ now: now.toISOString() }).changes);
  }
}

function toTaskRecord(row: Row): TaskRecord {
  return {
    taskId: String(row.task_id),
    principal: String(row.principal),
    status: String(row.status) as TaskStatus,
    statusMessage: row.status_message === null ? undefined : String(row.status_message),
    request: fromJson(row.request),
    result: fromJson(row.result),
    createdAt: String(row.created_at),
    lastUpdatedAt: String(row.last_updated_at),
    ttlMs: row.ttl_ms === null ? null : Number(row.ttl_ms),
    pollIntervalMs: row.poll_interval_ms === null ? undefined : Number(row.poll_interval_ms),
  };
}

function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function fromJson(value: SQLOutputValue | undefined): unknown {
  return typeof value === "string" ? JSON.parse(value) : undefined;
}

function nowIso(): string {
  return new Date().toISOString();
}
