import type { DatabaseSync, SQLOutputValue } from "node:sqlite";
import { openSqliteDatabase } from "./sqlite-database.js";
import { prepareStatements, type SqliteStatements } from "./sqlite-statements.js";
import { SqliteJobs } from "./sqlite-jobs.js";
import { SqliteRunnerClaims } from "./sqlite-runner-claims.js";
import { SqliteRunnerTokens } from "./sqlite-runner-tokens.js";
import { SqliteTaskTable } from "./sqlite-task-table.js";
import type {
  IdempotencyClaim,
  IdleActionRecord,
  IdempotencyOutcome,
  IdempotencyRecord,
  RunnerClaims,
  Jobs,
  RunnerTokens,
  SpawnRecord,
  StateStore,
  TaskRecord,
  TaskUpdate,
} from "./state-store.js";

type Row = Record<string, SQLOutputValue>;

/**
 * Opens the state store at `path` (`<stateDir>/state.db`), or a private in-memory one with ":memory:" (tests).
 * Several stores, in one process or several, may share a file: claims are atomic and writes wait for each other.
 * node:sqlite prints no ExperimentalWarning on Node 24.21, so nothing needs silencing.
 */
export function createSqliteStateStore(path: string): StateStore {
  return new SqliteStateStore(openSqliteDatabase(path));
}

class SqliteStateStore implements StateStore {
  private readonly statements: SqliteStatements;
  private readonly tasks: SqliteTaskTable;
  readonly runnerTokens: RunnerTokens;
  readonly runnerClaims: RunnerClaims;
  readonly jobs: Jobs;

  constructor(private readonly db: DatabaseSync) {
    this.statements = prepareStatements(db);
    this.tasks = new SqliteTaskTable(db);
    this.runnerTokens = new SqliteRunnerTokens(db);
    this.runnerClaims = new SqliteRunnerClaims(db);
    this.jobs = new SqliteJobs(db);
  }

  claimIdempotencyKey(claim: IdempotencyClaim): IdempotencyOutcome {
    return this.transaction(() => {
      const { principal, key, requestHash, runnerId, createdAt, expiresAt } = claim;
      const inserted = this.run("claim", { principal, key, requestHash, runnerId, createdAt, expiresAt });
      if (Number(inserted.changes) === 1) return { status: "claimed" };
      const row = this.statements.findKey.get({ principal, key });
      // The row was read inside the same write transaction that saw it, so it is there.
      return { status: "existing", record: toIdempotencyRecord(row as Row) };
    });
  }

  completeIdempotencyKey(principal: string, key: string, runnerId: string): void {
    this.run("completeKey", { principal, key, runnerId });
  }

  releaseIdempotencyKey(principal: string, key: string): void {
    this.run("releaseKey", { principal, key });
  }

  recordSpawn(spawn: SpawnRecord): void {
    this.run("recordSpawn", {
      runnerId: spawn.runnerId,
      principal: spawn.principal,
      image: spawn.image,
      workspaceKey: spawn.workspaceKey ?? null,
      alias: spawn.alias ?? null,
      status: spawn.status,
      error: spawn.error ?? null,
      createdAt: spawn.createdAt,
      expiresAt: spawn.expiresAt,
    });
  }

  finishSpawn(runnerId: string, outcome: { status: "ready" } | { status: "failed"; error: string }): void {
    if (outcome.status === "ready") this.run("deleteSpawn", { runnerId });
    else this.run("failSpawn", { runnerId, error: outcome.error });
  }

  findSpawn(principal: string, runnerId: string): SpawnRecord | undefined {
    const row = this.statements.findSpawn.get({ principal, runnerId, now: nowIso() });
    return row === undefined ? undefined : toSpawnRecord(row);
  }

  listSpawns(principal?: string): SpawnRecord[] {
    const rows =
      principal === undefined
        ? this.statements.listAllSpawns.all({ now: nowIso() })
        : this.statements.listSpawns.all({ principal, now: nowIso() });
    return rows.map(toSpawnRecord);
  }

  deleteSpawn(runnerId: string): void {
    this.run("deleteSpawn", { runnerId });
  }

  touchRunner(principal: string, runnerId: string, at: string): void {
    this.run("touchRunner", { principal, runnerId, at });
  }

  runnerActivity(principal: string): Map<string, string> {
    return toActivity(this.statements.runnerActivity.all({ principal }));
  }

  touchWorkspace(principal: string, workspaceKey: string, at: string): void {
    this.run("touchWorkspace", { principal, workspaceKey, at });
  }

  workspaceActivity(principal: string): Map<string, string> {
    return toActivity(this.statements.workspaceActivity.all({ principal }));
  }

  forgetRunner(runnerId: string): void {
    this.run("forgetRunner", { runnerId });
    this.run("clearIdle", { runnerId });
  }

  allRunnerActivity(): Map<string, string> {
    return toActivity(this.statements.allRunnerActivity.all({}));
  }

  recordIdleAction(record: IdleActionRecord): void {
    this.run("recordIdle", { ...record });
  }

  idleAction(runnerId: string): IdleActionRecord | undefined {
    const row = this.statements.findIdle.get({ runnerId }) as
      { principal: string; action: IdleActionRecord["action"]; at: string } | undefined;
    return row ? { runnerId, principal: row.principal, action: row.action, at: row.at } : undefined;
  }

  clearIdleAction(runnerId: string): void {
    this.run("clearIdle", { runnerId });
  }

  allWorkspaceActivity(): Map<string, Map<string, string>> {
    const byPrincipal = new Map<string, Map<string, string>>();
    for (const row of this.statements.allWorkspaceActivity.all({}) as Array<{
      principal: string;
      id: string;
      at: string;
    }>) {
      let own = byPrincipal.get(row.principal);
      if (!own) byPrincipal.set(row.principal, (own = new Map()));
      own.set(row.id, row.at);
    }
    return byPrincipal;
  }

  recordPulledImage(image: string, at: string): void {
    this.run("recordPulledImage", { image, at });
  }

  pulledImages(): Array<{ image: string; at: string }> {
    return this.statements.pulledImages.all({}) as Array<{ image: string; at: string }>;
  }

  forgetPulledImage(image: string): void {
    this.run("forgetPulledImage", { image });
  }

  forgetWorkspace(principal: string, workspaceKey: string): void {
    this.run("forgetWorkspace", { principal, workspaceKey });
  }

  createTask(task: TaskRecord): void {
    this.tasks.create(task);
  }

  getTask(principal: string, taskId: string): TaskRecord | undefined {
    return this.tasks.get(principal, taskId);
  }

  updateTask(principal: string, taskId: string, update: TaskUpdate): boolean {
    return this.tasks.apply(principal, taskId, update);
  }

  listTasks(principal: string, options: { afterTaskId?: string; limit: number }): TaskRecord[] {
    return this.tasks.list(principal, options);
  }

  failUnfinishedTasks(statusMessage: string, at: string): number {
    return this.tasks.failUnfinished(statusMessage, at);
  }

  pruneExpired(now: Date): number {
    return this.transaction(() => {
      const at = { now: now.toISOString() };
      return (
        Number(this.run("pruneKeys", at).changes) +
        Number(this.run("pruneSpawns", at).changes) +
        this.tasks.pruneExpired(now)
      );
    });
  }

  isHealthy(): boolean {
    try {
      return this.db.isOpen && this.statements.ping.get()?.ok === 1;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private run(name: keyof SqliteStatements, params: Record<string, string | number | null>) {
    return this.statements[name].run(params);
  }

  /** BEGIN IMMEDIATE takes the write lock up front, so a read-then-write cannot interleave with another process. */
  private transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }
}

function toIdempotencyRecord(row: Row): IdempotencyRecord {
  return {
    principal: String(row.principal),
    key: String(row.key),
    requestHash: String(row.request_hash),
    runnerId: String(row.runner_id),
    createdAt: String(row.created_at),
    expiresAt: String(row.expires_at),
    completed: row.completed === 1,
  };
}

function toSpawnRecord(row: Row): SpawnRecord {
  return {
    runnerId: String(row.runner_id),
    principal: String(row.principal),
    image: String(row.image),
    workspaceKey: row.workspace_key === null ? undefined : String(row.workspace_key),
    alias: row.alias === null ? undefined : String(row.alias),
    status: row.status === "failed" ? "failed" : "starting",
    error: row.error === null ? undefined : String(row.error),
    createdAt: String(row.created_at),
    expiresAt: String(row.expires_at),
  };
}

function toActivity(rows: Row[]): Map<string, string> {
  return new Map(rows.map((row) => [String(row.id), String(row.at)]));
}

function nowIso(): string {
  return new Date().toISOString();
}
