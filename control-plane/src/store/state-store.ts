import type { JobOutcome, JobRecord, JobStatus } from "../jobs/job.js";
/**
 * What Docker labels cannot hold, kept across control-plane restarts: idempotency keys, spawns in flight, runner
 * activity, workspace use and MCP task records. Every record is scoped to one principal; a lookup with another
 * principal finds nothing. The SQLite implementation (node:sqlite) is sqlite-state-store.ts.
 */
export interface StateStore {
  /**
   * Claims `key` for a request of `principal`. "claimed": the caller owns it and must later complete or release it.
   * "existing": the key was used before (by this principal) within its lifetime; the caller compares requestHash.
   */
  claimIdempotencyKey(claim: IdempotencyClaim): IdempotencyOutcome;
  /** Records the runner a claimed key produced. */
  completeIdempotencyKey(principal: string, key: string, runnerId: string): void;
  /** Forgets a claimed key whose request failed, so a retry with the same key runs again. */
  releaseIdempotencyKey(principal: string, key: string): void;

  /** A spawn accepted (status starting) and not finished; survives restarts so they can be reported as failed. */
  recordSpawn(spawn: SpawnRecord): void;
  /** Marks a spawn finished: "ready" removes the record; "failed" keeps it (with the error) until it expires. */
  finishSpawn(runnerId: string, outcome: { status: "ready" } | { status: "failed"; error: string }): void;
  findSpawn(principal: string, runnerId: string): SpawnRecord | undefined;
  listSpawns(principal?: string): SpawnRecord[];
  /** Removes a spawn record (e.g. the failed runner was removed by its owner). */
  deleteSpawn(runnerId: string): void;

  /** Last activity of a runner (a call that used it), kept per runner. */
  touchRunner(principal: string, runnerId: string, at: string): void;
  runnerActivity(principal: string): Map<string, string>;
  /** Last use of a workspace volume (a runner spawned on, attached to or used it). */
  touchWorkspace(principal: string, workspaceKey: string, at: string): void;
  workspaceActivity(principal: string): Map<string, string>;
  /** Forgets a runner's (or a workspace's) activity when it is removed. */
  forgetRunner(runnerId: string): void;
  forgetWorkspace(principal: string, workspaceKey: string): void;
  /** Every runner's last activity, of every principal (for the idle check). */
  allRunnerActivity(): Map<string, string>;
  /** Every workspace's last use: principal → workspace key → ISO time (for retention). */
  allWorkspaceActivity(): Map<string, Map<string, string>>;

  /** Images pulled for runners (garbage collection may remove them when no container uses them any more). */
  recordPulledImage(image: string, at: string): void;
  pulledImages(): Array<{ image: string; at: string }>;
  forgetPulledImage(image: string): void;

  /** Runners stopped or paused for idleness, so the next call naming one starts it again (also after a restart). */
  recordIdleAction(record: IdleActionRecord): void;
  idleAction(runnerId: string): IdleActionRecord | undefined;
  clearIdleAction(runnerId: string): void;

  /** Each runner's agent token, delivered to the agent at every start and kept nowhere on the engine. */
  readonly runnerTokens: RunnerTokens;
  /** Pooled runners and who claimed them (a pooled runner's labels name its pool, never its claimer). */
  readonly runnerClaims: RunnerClaims;
  /** One-shot agent jobs (job_run), owned by a principal. */
  readonly jobs: Jobs;

  /** MCP task records (runner_spawn as a task), owned by a principal. */
  createTask(task: TaskRecord): void;
  getTask(principal: string, taskId: string): TaskRecord | undefined;
  /** Updates status, message and/or result; unknown or foreign ids are ignored and return false. */
  updateTask(principal: string, taskId: string, update: TaskUpdate): boolean;
  listTasks(principal: string, options: { afterTaskId?: string; limit: number }): TaskRecord[];
  /**
   * At start-up: tasks still working belonged to the previous process, whose background work died with it; marks
   * them failed with `statusMessage` and returns how many. One store file serves one control plane.
   */
  failUnfinishedTasks(statusMessage: string, at: string): number;

  /** Drops expired idempotency keys, failed spawns and tasks; returns how many records went. */
  pruneExpired(now: Date): number;
  /** True while the store is open and answers a trivial query (for /readyz). */
  isHealthy(): boolean;
  close(): void;
}

/** Jobs by id; get and list see only the principal's own. */
export interface Jobs {
  insert(job: JobRecord): void;
  get(principal: string, jobId: string): JobRecord | undefined;
  update(jobId: string, update: JobUpdate): void;
  /** The principal's jobs, newest first. */
  list(principal: string, options: { status?: JobStatus | undefined; limit: number }): JobRecord[];
  /** Every principal's jobs not ended yet (at start-up: the previous process's). */
  active(): JobRecord[];
  /** Jobs whose runner is kept for inspection. */
  kept(): JobRecord[];
  /** Forgets jobs that ended before `before` (ISO time) and keep no runner; returns their ids. */
  pruneEnded(before: string): string[];
}

/** Fields of a job record that change as it runs; null clears kept_until. */
export interface JobUpdate {
  status?: JobStatus;
  message?: string;
  runnerId?: string;
  startedAt?: string;
  endedAt?: string;
  outcome?: JobOutcome;
  keptUntil?: string | null;
}

/** Claims of pooled runners by runner id. */
export interface RunnerClaims {
  /** Records a claim; false when the runner is claimed already (by anyone). */
  insert(claim: RunnerClaimRecord): boolean;
  get(runnerId: string): RunnerClaimRecord | undefined;
  /** The ids of the runners `principal` claimed. */
  runnerIdsOf(principal: string): string[];
  all(): RunnerClaimRecord[];
  /** The agent took the claim's token: the claim is complete. */
  markClaimed(runnerId: string): void;
  delete(runnerId: string): void;
}

export interface RunnerClaimRecord {
  runnerId: string;
  pool: string;
  principal: string;
  alias: string | undefined;
  env: Record<string, string>;
  /** The limits the claimer asked for, applied to the container (docker update) before the claim returns. */
  limits: { cpus: number; memoryMb: number; pids: number };
  /** The agent token the claim gives the runner; the token vault keeps the pool's until the agent has taken it. */
  token: string;
  /** claiming: recorded, the token may not have been rotated yet; claimed: the runner is the claimer's in full. */
  state: "claiming" | "claimed";
  claimedAt: string;
}

/** Agent tokens by runner id; a runner id is unique across principals. */
export interface RunnerTokens {
  get(runnerId: string): string | undefined;
  set(runnerId: string, token: string): void;
  delete(runnerId: string): void;
}

export interface IdempotencyClaim {
  principal: string;
  key: string;
  /** A stable hash of the request's arguments: the same key with another hash is a conflict. */
  requestHash: string;
  /** The runner the request will create (known before the spawn starts). */
  runnerId: string;
  createdAt: string;
  expiresAt: string;
}

export interface IdempotencyRecord extends IdempotencyClaim {
  /** True once completeIdempotencyKey ran. */
  completed: boolean;
}

export type IdempotencyOutcome = { status: "claimed" } | { status: "existing"; record: IdempotencyRecord };

export interface SpawnRecord {
  runnerId: string;
  principal: string;
  image: string;
  workspaceKey: string | undefined;
  alias: string | undefined;
  status: "starting" | "failed";
  /** With status failed: what went wrong, as the caller should read it. */
  error: string | undefined;
  createdAt: string;
  /** Failed records are dropped after this. */
  expiresAt: string;
}

export type TaskStatus = "working" | "input_required" | "completed" | "failed" | "cancelled";

export interface TaskRecord {
  taskId: string;
  principal: string;
  status: TaskStatus;
  statusMessage: string | undefined;
  /** The JSON-serialisable MCP request that created the task, and the result once there is one. */
  request: unknown;
  result: unknown;
  createdAt: string;
  lastUpdatedAt: string;
  /** Milliseconds the task is kept after creation; null keeps it until removed. */
  ttlMs: number | null;
  pollIntervalMs: number | undefined;
}

export interface TaskUpdate {
  status?: TaskStatus;
  statusMessage?: string | undefined;
  result?: unknown;
  lastUpdatedAt: string;
}

/** A runner the control plane stopped or paused because nobody used it. */
export interface IdleActionRecord {
  runnerId: string;
  principal: string;
  action: "stop" | "pause";
  at: string;
}
