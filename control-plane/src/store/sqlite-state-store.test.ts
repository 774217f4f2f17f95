import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlPlaneError } from "../errors.js";
import type { JobOutcome, JobRecord } from "../jobs/job.js";
import { SCHEMA_VERSION, schemaVersionOf } from "./sqlite-schema.js";
import { createSqliteStateStore } from "./sqlite-state-store.js";
import type { IdempotencyClaim, JobUpdate, SpawnRecord, StateStore, TaskRecord } from "./state-store.js";

const HOUR_MS = 3_600_000;
/** One clock reading for the whole file, so records built twice compare equal. */
const NOW_MS = Date.now();
const at = (offsetMs: number): string => new Date(NOW_MS + offsetMs).toISOString();

function claim(principal: string, key: string, overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return {
    principal,
    key,
    requestHash: "hash-1",
    runnerId: `r-${principal}-${key}`,
    createdAt: at(0),
    expiresAt: at(24 * HOUR_MS),
    ...overrides,
  };
}

function spawn(principal: string, runnerId: string, overrides: Partial<SpawnRecord> = {}): SpawnRecord {
  return {
    runnerId,
    principal,
    image: "devhatchery-test/runner:dev",
    workspaceKey: "ws-1",
    alias: undefined,
    status: "starting",
    error: undefined,
    createdAt: at(0),
    expiresAt: at(HOUR_MS),
    ...overrides,
  };
}

function task(principal: string, taskId: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  const createdAt = at(0);
  return {
    taskId,
    principal,
    status: "working",
    statusMessage: undefined,
    request: { method: "tools/call", params: { name: "runner_spawn" } },
    result: undefined,
    createdAt,
    lastUpdatedAt: createdAt,
    ttlMs: HOUR_MS,
    pollIntervalMs: 500,
    ...overrides,
  };
}

function job(principal: string, jobId: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId,
    principal,
    status: "queued",
    message: "queued: position 1 of 1",
    request: {
      profile: "shell",
      task: "npm test",
      repository: { url: "https://github.com/devhatchery/devhatchery.git", ref: "main", credential: "GITHUB_TOKEN" },
      secrets: { GITHUB_TOKEN: { source: "value" }, ANTHROPIC_API_KEY: { source: "operator", ref: "anthropic" } },
      env: { CI: "1" },
      storage: "tmpfs",
      network: true,
      timeoutS: 300,
      keep: false,
      keepForS: 600,
      artifacts: ["dist/**"],
    },
    outcome: undefined,
    runnerId: undefined,
    createdAt: at(0),
    startedAt: undefined,
    endedAt: undefined,
    keptUntil: undefined,
    ...overrides,
  };
}

const OUTCOME: JobOutcome = {
  exitCode: 0,
  signal: null,
  reason: "exited",
  message: "The agent exited with code 0.",
  durationMs: 1234,
  outputBytes: 42,
  outputTruncated: false,
  outputTail: "ok\n",
  result: { summary: "done", files: ["a.ts"] },
  baseCommit: "0123456789abcdef0123456789abcdef01234567",
  changedFiles: [{ path: "b.ts", status: "R", previousPath: "a.ts" }],
};

function openError(path: string): ControlPlaneError {
  try {
    createSqliteStateStore(path).close();
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError);
    return error as ControlPlaneError;
  }
  throw new Error(`opening "${path}" should have failed`);
}

describe("createSqliteStateStore", () => {
  let dir: string;
  let path: string;
  const opened: StateStore[] = [];
  const open = (file = path): StateStore => {
    const store = createSqliteStateStore(file);
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "devhatchery-store-"));
    path = join(dir, "state", "state.db");
  });
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the folder 0700 and the file 0600, in WAL mode at the current schema version", () => {
    const store = open();
    expect(statSync(join(dir, "state")).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(store.isHealthy()).toBe(true);
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      expect(raw.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
      expect(schemaVersionOf(raw)).toBe(SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  it("keeps runner agent tokens across reopening, replaces and deletes them, and adds the table to a version 1 file", () => {
    open(join(dir, "v1.db")).close();
    const raw = new DatabaseSync(join(dir, "v1.db"));
    raw.exec(
      "DROP TABLE runner_tokens; DROP TABLE runner_idle; DROP TABLE pulled_images; DROP TABLE runner_claims; DROP TABLE jobs; UPDATE schema_version SET version = 1",
    );
    raw.close();
    const first = open(join(dir, "v1.db"));
    first.runnerTokens.set("r-1", "token-1");
    first.runnerTokens.set("r-2", "token-2");
    first.runnerTokens.set("r-2", "token-2b");
    first.close();
    const again = open(join(dir, "v1.db"));
    expect([again.runnerTokens.get("r-1"), again.runnerTokens.get("r-2"), again.runnerTokens.get("r-3")]).toEqual([
      "token-1",
      "token-2b",
      undefined,
    ]);
    again.runnerTokens.delete("r-1");
    expect(again.runnerTokens.get("r-1")).toBeUndefined();
  });

  it("records one claim per pooled runner, lists a principal's, completes and forgets them, across reopening", () => {
    const file = join(dir, "claims.db");
    const store = open(file);
    const claim = {
      runnerId: "r-1",
      pool: "warm",
      principal: "alice",
      alias: "a",
      env: { GREETING: "hi" },
      limits: { cpus: 1, memoryMb: 512, pids: 100 },
      token: "t".repeat(43),
      state: "claiming" as const,
      claimedAt: "2030-01-01T00:00:00.000Z",
    };
    expect(store.runnerClaims.insert(claim)).toBe(true);
    // The primary key: a second claim of the same runner, by anyone, is refused and changes nothing.
    expect(store.runnerClaims.insert({ ...claim, principal: "mallory", token: "m".repeat(43) })).toBe(false);
    expect(store.runnerClaims.insert({ ...claim, runnerId: "r-2", alias: undefined, env: {} })).toBe(true);
    expect(store.runnerClaims.runnerIdsOf("alice")).toEqual(["r-1", "r-2"]);
    expect(store.runnerClaims.runnerIdsOf("mallory")).toEqual([]);
    store.runnerClaims.markClaimed("r-1");
    store.close();
    const again = open(file);
    expect(again.runnerClaims.get("r-1")).toEqual({ ...claim, state: "claimed" });
    expect(again.runnerClaims.get("r-2")).toMatchObject({ alias: undefined, env: {}, state: "claiming" });
    again.runnerClaims.delete("r-1");
    expect(again.runnerClaims.all().map((entry) => entry.runnerId)).toEqual(["r-2"]);
    expect(again.runnerClaims.get("r-1")).toBeUndefined();
  });

  it("keeps idle stops per runner until cleared or the runner is forgotten, and only for its own principal", () => {
    const store = open(join(dir, "idle.db"));
    store.recordIdleAction({ runnerId: "r-1", principal: "alice", action: "stop", at: "2030-01-01T00:00:00.000Z" });
    store.recordIdleAction({ runnerId: "r-1", principal: "mallory", action: "pause", at: "2031-01-01T00:00:00.000Z" });
    store.recordIdleAction({ runnerId: "r-2", principal: "alice", action: "pause", at: "2030-01-01T00:00:00.000Z" });
    expect(store.idleAction("r-1")).toEqual({
      runnerId: "r-1",
      principal: "alice",
      action: "stop",
      at: "2030-01-01T00:00:00.000Z",
    });
    store.clearIdleAction("r-2");
    expect(store.idleAction("r-2")).toBeUndefined();
    store.touchRunner("alice", "r-1", "2030-01-01T00:00:05.000Z");
    store.touchRunner("bob", "r-3", "2030-01-01T00:00:06.000Z");
    expect(store.allRunnerActivity()).toEqual(
      new Map([
        ["r-1", "2030-01-01T00:00:05.000Z"],
        ["r-3", "2030-01-01T00:00:06.000Z"],
      ]),
    );
    store.forgetRunner("r-1");
    expect(store.idleAction("r-1")).toBeUndefined();
    store.close();
  });

  it("keeps every principal's workspace use for retention, and the images pulled for runners", () => {
    const store = open(join(dir, "retention.db"));
    store.touchWorkspace("alice", "ws-1", "2030-01-01T00:00:05.000Z");
    store.touchWorkspace("alice", "ws-1", "2030-01-01T00:00:01.000Z");
    store.touchWorkspace("bob", "ws-1", "2030-01-02T00:00:00.000Z");
    expect(store.allWorkspaceActivity()).toEqual(
      new Map([
        ["alice", new Map([["ws-1", "2030-01-01T00:00:05.000Z"]])],
        ["bob", new Map([["ws-1", "2030-01-02T00:00:00.000Z"]])],
      ]),
    );
    store.recordPulledImage("node:24", "2030-01-01T00:00:00.000Z");
    store.recordPulledImage("alpine:3", "2030-01-01T00:00:00.000Z");
    store.recordPulledImage("node:24", "2030-01-03T00:00:00.000Z");
    expect(store.pulledImages()).toEqual([
      { image: "alpine:3", at: "2030-01-01T00:00:00.000Z" },
      { image: "node:24", at: "2030-01-03T00:00:00.000Z" },
    ]);
    store.forgetPulledImage("node:24");
    expect(store.pulledImages().map((row) => row.image)).toEqual(["alpine:3"]);
    store.close();
  });

  it("migrates an existing empty file and reopens a migrated one without changes", () => {
    writeFileSync(join(dir, "empty.db"), "");
    open(join(dir, "empty.db")).close();
    open(join(dir, "empty.db")).close();
    const raw = new DatabaseSync(join(dir, "empty.db"));
    try {
      expect(schemaVersionOf(raw)).toBe(SCHEMA_VERSION);
      expect(raw.prepare("SELECT count(*) AS rows FROM schema_version").get()).toEqual({ rows: 1 });
    } finally {
      raw.close();
    }
  });

  it("refuses a file written by a newer schema, a corrupt file and a folder it cannot create, naming the path and the fix", () => {
    open().close();
    const raw = new DatabaseSync(path);
    raw.exec(`UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(openError(path)).toMatchObject({
      code: "FAILED_PRECONDITION",
      message: `The state store "${path}" has schema version ${SCHEMA_VERSION + 1}, newer than this DevHatchery understands (${SCHEMA_VERSION}); upgrade DevHatchery, or point state.dir (DEVHATCHERY_STATE_DIR) at another folder.`,
    });

    const corrupt = join(dir, "corrupt.db");
    writeFileSync(corrupt, "this is not a database, just text that is long enough to be read as a header ".repeat(20));
    expect(openError(corrupt)).toMatchObject({
      code: "FAILED_PRECONDITION",
      message:
        `The state store "${corrupt}" is not a readable SQLite database (file is not a database); move the file aside ` +
        "(a new one is created on start, forgetting idempotency keys and task records), or point state.dir (DEVHATCHERY_STATE_DIR) at a folder the control plane can write.",
    });

    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "");
    expect(openError(join(blocker, "state", "state.db"))).toMatchObject({
      code: "FAILED_PRECONDITION",
      message:
        `Cannot create the state store folder "${join(blocker, "state")}" (ENOTDIR: not a directory, mkdir '${join(blocker, "state")}'); ` +
        "create it, or point state.dir (DEVHATCHERY_STATE_DIR) at a folder the control plane can write.",
    });
  });

  it("claims an idempotency key once, reports the live record, completes and releases it", () => {
    const store = open();
    expect(store.claimIdempotencyKey(claim("alice", "k1"))).toEqual({ status: "claimed" });
    const again = claim("alice", "k1", { requestHash: "hash-2", runnerId: "r-other" });
    expect(store.claimIdempotencyKey(again)).toEqual({
      status: "existing",
      record: { ...claim("alice", "k1"), completed: false },
    });

    store.completeIdempotencyKey("alice", "k1", "r-final");
    const completed = store.claimIdempotencyKey(again);
    expect(completed).toMatchObject({
      status: "existing",
      record: { runnerId: "r-final", requestHash: "hash-1", completed: true },
    });

    store.releaseIdempotencyKey("alice", "k1");
    expect(store.claimIdempotencyKey(again)).toEqual({ status: "claimed" });
    expect(store.claimIdempotencyKey(claim("alice", "k1"))).toMatchObject({
      status: "existing",
      record: { requestHash: "hash-2", runnerId: "r-other" },
    });
  });

  it("lets an expired key be claimed again and prunes expired keys", () => {
    const store = open();
    store.claimIdempotencyKey(claim("alice", "old", { createdAt: at(-2 * HOUR_MS), expiresAt: at(-HOUR_MS) }));
    store.claimIdempotencyKey(claim("alice", "stale", { createdAt: at(-2 * HOUR_MS), expiresAt: at(-HOUR_MS) }));
    store.completeIdempotencyKey("alice", "old", "r-old");
    expect(store.claimIdempotencyKey(claim("alice", "old", { runnerId: "r-new" }))).toEqual({ status: "claimed" });
    expect(store.claimIdempotencyKey(claim("alice", "old"))).toMatchObject({
      status: "existing",
      record: { runnerId: "r-new", completed: false },
    });

    expect(store.pruneExpired(new Date())).toBe(1);
    expect(store.claimIdempotencyKey(claim("alice", "stale"))).toEqual({ status: "claimed" });
  });

  it("keeps principals apart: another principal cannot see, complete or release a key", () => {
    const store = open();
    expect(store.claimIdempotencyKey(claim("alice", "shared"))).toEqual({ status: "claimed" });
    expect(store.claimIdempotencyKey(claim("mallory", "shared", { requestHash: "evil" }))).toEqual({
      status: "claimed",
    });
    store.completeIdempotencyKey("mallory", "shared", "r-mallory");
    store.releaseIdempotencyKey("mallory", "shared");
    expect(store.claimIdempotencyKey(claim("alice", "shared"))).toMatchObject({
      status: "existing",
      record: { principal: "alice", requestHash: "hash-1", runnerId: "r-alice-shared", completed: false },
    });
  });

  it("gives a key to exactly one of two stores on the same file, alternating who asks first", () => {
    const first = open();
    const second = open();
    const outcomes = Array.from({ length: 20 }, (_, index) => {
      const [a, b] = index % 2 === 0 ? [first, second] : [second, first];
      return [
        a.claimIdempotencyKey(claim("alice", `key-${index}`)).status,
        b.claimIdempotencyKey(claim("alice", `key-${index}`)).status,
      ];
    });
    expect(outcomes).toEqual(Array.from({ length: 20 }, () => ["claimed", "existing"]));
  });

  it("waits for another connection's write transaction and then sees its claim instead of failing as busy", async () => {
    const store = open();
    const worker = new Worker(
      `const { DatabaseSync } = require("node:sqlite");
       const { parentPort, workerData } = require("node:worker_threads");
       const db = new DatabaseSync(workerData.path);
       db.exec("BEGIN IMMEDIATE");
       db.prepare("INSERT INTO idempotency_keys (principal, key, request_hash, runner_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
         .run("alice", "raced", "hash-worker", "r-worker", workerData.createdAt, workerData.expiresAt);
       parentPort.postMessage("locked");
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec("COMMIT");
       db.close();`,
      { eval: true, workerData: { path, createdAt: at(0), expiresAt: at(HOUR_MS) } },
    );
    try {
      await new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
      expect(store.claimIdempotencyKey(claim("alice", "raced"))).toMatchObject({
        status: "existing",
        record: { requestHash: "hash-worker", runnerId: "r-worker" },
      });
    } finally {
      await worker.terminate();
    }
  });

  it("records spawns: finds and lists them per principal, drops ready ones, keeps failed ones until they expire", () => {
    const store = open();
    store.recordSpawn(spawn("alice", "r-1", { createdAt: at(-2000) }));
    store.recordSpawn(spawn("alice", "r-2", { createdAt: at(-1000), alias: "web", workspaceKey: undefined }));
    store.recordSpawn(spawn("bob", "r-3"));
    store.recordSpawn(spawn("mallory", "r-1", { image: "evil" }));
    expect(store.findSpawn("alice", "r-1")).toEqual(spawn("alice", "r-1", { createdAt: at(-2000) }));
    expect(store.findSpawn("mallory", "r-1")).toBeUndefined();
    expect(store.listSpawns("alice").map((record) => [record.runnerId, record.alias, record.workspaceKey])).toEqual([
      ["r-2", "web", undefined],
      ["r-1", undefined, "ws-1"],
    ]);
    expect(store.listSpawns().map((record) => record.runnerId)).toEqual(["r-3", "r-2", "r-1"]);

    store.finishSpawn("r-1", { status: "ready" });
    store.finishSpawn("r-2", { status: "failed", error: 'Image "nope" not found.' });
    expect(store.findSpawn("alice", "r-1")).toBeUndefined();
    expect(store.listSpawns("alice")).toEqual([
      spawn("alice", "r-2", {
        createdAt: at(-1000),
        alias: "web",
        workspaceKey: undefined,
        status: "failed",
        error: 'Image "nope" not found.',
      }),
    ]);
    store.deleteSpawn("r-3");
    expect(store.listSpawns("bob")).toEqual([]);

    store.recordSpawn(spawn("bob", "r-old-failed", { status: "failed", error: "boom", expiresAt: at(-1) }));
    store.recordSpawn(spawn("bob", "r-old-starting", { expiresAt: at(-1) }));
    expect(store.listSpawns("bob").map((record) => record.runnerId)).toEqual(["r-old-starting"]);
    expect(store.pruneExpired(new Date())).toBe(1);
    expect(store.listSpawns("bob").map((record) => record.runnerId)).toEqual(["r-old-starting"]);
  });

  it("keeps the latest activity per runner and workspace, scoped to the principal, until forgotten", () => {
    const store = open();
    store.touchRunner("alice", "r-1", "2030-01-01T00:00:02.000Z");
    store.touchRunner("alice", "r-1", "2030-01-01T00:00:01.000Z");
    store.touchRunner("mallory", "r-1", "2031-01-01T00:00:00.000Z");
    store.touchRunner("alice", "r-2", "2030-01-01T00:00:00.000Z");
    store.touchWorkspace("alice", "ws", "2030-01-01T00:00:05.000Z");
    store.touchWorkspace("alice", "ws", "2030-01-01T00:00:04.000Z");
    store.touchWorkspace("mallory", "ws", "2031-01-01T00:00:00.000Z");
    expect(store.runnerActivity("alice")).toEqual(
      new Map([
        ["r-1", "2030-01-01T00:00:02.000Z"],
        ["r-2", "2030-01-01T00:00:00.000Z"],
      ]),
    );
    expect(store.runnerActivity("mallory")).toEqual(new Map());
    expect(store.workspaceActivity("alice")).toEqual(new Map([["ws", "2030-01-01T00:00:05.000Z"]]));
    expect(store.workspaceActivity("mallory")).toEqual(new Map([["ws", "2031-01-01T00:00:00.000Z"]]));

    store.forgetRunner("r-1");
    store.forgetWorkspace("mallory", "ws");
    expect(store.runnerActivity("alice")).toEqual(new Map([["r-2", "2030-01-01T00:00:00.000Z"]]));
    expect(store.workspaceActivity("alice")).toEqual(new Map([["ws", "2030-01-01T00:00:05.000Z"]]));
    expect(store.workspaceActivity("mallory")).toEqual(new Map());
  });

  it("stores tasks per principal: get, partial updates, pages after a cursor", () => {
    const store = open();
    for (const id of ["t1", "t2", "t3"]) store.createTask(task("alice", id));
    store.createTask(task("bob", "t4"));
    expect(store.getTask("alice", "t1")).toEqual(task("alice", "t1"));

    expect(
      store.updateTask("alice", "t1", { statusMessage: "pulling", lastUpdatedAt: "2030-01-01T00:00:00.000Z" }),
    ).toBe(true);
    expect(store.getTask("alice", "t1")).toMatchObject({
      status: "working",
      statusMessage: "pulling",
      result: undefined,
    });
    const result = { content: [{ type: "text", text: "ready" }], structuredContent: { runner_id: "r-1" } };
    expect(
      store.updateTask("alice", "t1", { status: "completed", result, lastUpdatedAt: "2030-01-01T00:00:01.000Z" }),
    ).toBe(true);
    expect(store.getTask("alice", "t1")).toMatchObject({
      status: "completed",
      statusMessage: "pulling",
      result,
      lastUpdatedAt: "2030-01-01T00:00:01.000Z",
    });
    expect(
      store.updateTask("alice", "t1", { statusMessage: undefined, lastUpdatedAt: "2030-01-01T00:00:02.000Z" }),
    ).toBe(true);
    expect(store.getTask("alice", "t1")?.statusMessage).toBeUndefined();

    const ids = (records: TaskRecord[]) => records.map((record) => record.taskId);
    expect(ids(store.listTasks("alice", { limit: 2 }))).toEqual(["t1", "t2"]);
    expect(ids(store.listTasks("alice", { afterTaskId: "t2", limit: 2 }))).toEqual(["t3"]);
    expect(ids(store.listTasks("alice", { afterTaskId: "unknown", limit: 2 }))).toEqual([]);
    expect(ids(store.listTasks("bob", { limit: 10 }))).toEqual(["t4"]);
  });

  it("hides another principal's tasks even by id, and ignores its updates and cursors", () => {
    const store = open();
    store.createTask(task("alice", "secret"));
    expect(store.getTask("mallory", "secret")).toBeUndefined();
    expect(store.updateTask("mallory", "secret", { status: "cancelled", lastUpdatedAt: at(0) })).toBe(false);
    expect(store.listTasks("mallory", { limit: 10 })).toEqual([]);
    expect(store.listTasks("mallory", { afterTaskId: "secret", limit: 10 })).toEqual([]);
    expect(store.getTask("alice", "secret")?.status).toBe("working");
    expect(() => store.createTask(task("mallory", "secret"))).toThrow(/UNIQUE constraint failed: tasks.task_id/);
  });

  it("fails the tasks a previous process left working, of every principal, and leaves finished ones alone", () => {
    const store = open();
    store.createTask(task("alice", "working"));
    store.createTask(task("bob", "also-working"));
    store.createTask(task("alice", "done"));
    store.updateTask("alice", "done", { status: "completed", result: { content: [] }, lastUpdatedAt: at(0) });
    expect(store.failUnfinishedTasks("the control plane restarted", at(1))).toBe(2);
    expect(store.getTask("alice", "working")).toMatchObject({
      status: "failed",
      statusMessage: "the control plane restarted",
      lastUpdatedAt: at(1),
    });
    expect(store.getTask("bob", "also-working")?.status).toBe("failed");
    expect(store.getTask("alice", "done")?.status).toBe("completed");
    expect(store.failUnfinishedTasks("again", at(2))).toBe(0);
  });

  it("hides tasks past their TTL, prunes them, and keeps tasks without a TTL", () => {
    const store = open();
    store.createTask(task("alice", "expired", { createdAt: at(-2 * HOUR_MS) }));
    store.createTask(task("alice", "forever", { createdAt: at(-48 * HOUR_MS), ttlMs: null }));
    store.createTask(task("alice", "fresh"));
    expect(store.getTask("alice", "expired")).toBeUndefined();
    expect(store.updateTask("alice", "expired", { status: "completed", lastUpdatedAt: at(0) })).toBe(false);
    expect(store.listTasks("alice", { limit: 10 }).map((record) => record.taskId)).toEqual(["forever", "fresh"]);
    expect(store.pruneExpired(new Date())).toBe(1);
    expect(store.getTask("alice", "forever")?.ttlMs).toBeNull();
  });

  it("keeps jobs per principal: another principal gets nothing for the same id", () => {
    const store = open();
    store.jobs.insert(job("alice", "j-00000000000a"));
    expect(store.jobs.get("alice", "j-00000000000a")).toEqual(job("alice", "j-00000000000a"));
    expect(store.jobs.get("mallory", "j-00000000000a")).toBeUndefined();
    expect(store.jobs.get("alice", "j-0000000000ff")).toBeUndefined();
    expect(store.jobs.list("mallory", { limit: 10 })).toEqual([]);
    expect(() => store.jobs.insert(job("mallory", "j-00000000000a"))).toThrow(/UNIQUE constraint failed: jobs.job_id/);
  });

  it("updates each job field on its own, leaves the others, and clears keptUntil with null", () => {
    const store = open();
    const id = "j-00000000000a";
    store.jobs.insert(job("alice", id));
    let expected = job("alice", id);
    const steps: Array<[JobUpdate, Partial<JobRecord>]> = [
      [{ status: "starting" }, { status: "starting" }],
      [{ message: "starting runner" }, { message: "starting runner" }],
      [{ runnerId: "r-job-1" }, { runnerId: "r-job-1" }],
      [{ startedAt: at(1000) }, { startedAt: at(1000) }],
      [{ endedAt: at(5000) }, { endedAt: at(5000) }],
      [{ outcome: OUTCOME }, { outcome: OUTCOME }],
      [{ keptUntil: at(HOUR_MS) }, { keptUntil: at(HOUR_MS) }],
      [{}, {}],
      [{ keptUntil: null }, { keptUntil: undefined }],
      [
        { status: "succeeded", message: "succeeded in 4 s" },
        { status: "succeeded", message: "succeeded in 4 s" },
      ],
    ];
    for (const [update, changed] of steps) {
      store.jobs.update(id, update);
      expected = { ...expected, ...changed };
      expect(store.jobs.get("alice", id), JSON.stringify(update)).toEqual(expected);
    }
    store.jobs.update("j-0000000000ff", { status: "failed" });
    expect(store.jobs.get("alice", "j-0000000000ff")).toBeUndefined();
  });

  it("lists a principal's jobs newest first, filtered by status, up to the limit", () => {
    const store = open();
    store.jobs.insert(job("alice", "j-000000000001", { createdAt: at(1000) }));
    store.jobs.insert(job("alice", "j-000000000002", { createdAt: at(3000) }));
    store.jobs.insert(job("alice", "j-000000000003", { createdAt: at(2000) }));
    // Same creation time: the larger id first, so pages are stable.
    store.jobs.insert(job("alice", "j-000000000004", { createdAt: at(2000) }));
    store.jobs.insert(job("bob", "j-000000000005", { createdAt: at(4000) }));
    store.jobs.update("j-000000000001", { status: "failed" });
    store.jobs.update("j-000000000003", { status: "failed" });
    const ids = (records: JobRecord[]) => records.map((record) => record.jobId);
    expect(ids(store.jobs.list("alice", { limit: 10 }))).toEqual([
      "j-000000000002",
      "j-000000000004",
      "j-000000000003",
      "j-000000000001",
    ]);
    expect(ids(store.jobs.list("alice", { limit: 2 }))).toEqual(["j-000000000002", "j-000000000004"]);
    expect(ids(store.jobs.list("alice", { status: "failed", limit: 10 }))).toEqual([
      "j-000000000003",
      "j-000000000001",
    ]);
    expect(ids(store.jobs.list("alice", { status: "failed", limit: 1 }))).toEqual(["j-000000000003"]);
    expect(ids(store.jobs.list("alice", { status: "running", limit: 10 }))).toEqual([]);
    expect(ids(store.jobs.list("bob", { status: undefined, limit: 10 }))).toEqual(["j-000000000005"]);
  });

  it("finds every principal's jobs not ended yet, oldest first, and the jobs that keep a runner", () => {
    const store = open();
    const statuses = [
      "queued",
      "starting",
      "cloning",
      "running",
      "collecting",
      "succeeded",
      "failed",
      "timed_out",
      "cancelled",
    ] as const;
    statuses.forEach((status, index) => {
      const jobId = `j-00000000000${index}`;
      store.jobs.insert(job(index % 2 === 0 ? "alice" : "bob", jobId, { createdAt: at(-index * 1000) }));
      store.jobs.update(jobId, { status });
    });
    expect(store.jobs.active().map((record) => [record.jobId, record.status, record.principal])).toEqual([
      ["j-000000000004", "collecting", "alice"],
      ["j-000000000003", "running", "bob"],
      ["j-000000000002", "cloning", "alice"],
      ["j-000000000001", "starting", "bob"],
      ["j-000000000000", "queued", "alice"],
    ]);
    expect(store.jobs.kept()).toEqual([]);
    store.jobs.update("j-000000000005", { keptUntil: at(2 * HOUR_MS) });
    store.jobs.update("j-000000000006", { keptUntil: at(HOUR_MS) });
    expect(store.jobs.kept().map((record) => [record.jobId, record.keptUntil])).toEqual([
      ["j-000000000006", at(HOUR_MS)],
      ["j-000000000005", at(2 * HOUR_MS)],
    ]);
    store.jobs.update("j-000000000006", { keptUntil: null });
    expect(store.jobs.kept().map((record) => record.jobId)).toEqual(["j-000000000005"]);
  });

  it("prunes jobs that ended before a time, keeping newer, kept and active ones", () => {
    const store = open();
    const ended = (jobId: string, endedAt: string, keptUntil?: string) => {
      store.jobs.insert(job("alice", jobId));
      store.jobs.update(jobId, { status: "succeeded", endedAt, ...(keptUntil ? { keptUntil } : {}) });
    };
    ended("j-000000000001", at(-2 * HOUR_MS));
    ended("j-000000000002", at(-3 * HOUR_MS));
    ended("j-000000000003", at(-2 * HOUR_MS), at(HOUR_MS));
    ended("j-000000000004", at(0));
    ended("j-000000000005", at(-HOUR_MS));
    store.jobs.insert(job("alice", "j-000000000006", { createdAt: at(-5 * HOUR_MS) }));
    store.jobs.update("j-000000000006", { status: "running", startedAt: at(-5 * HOUR_MS) });
    expect(store.jobs.pruneEnded(at(-HOUR_MS)).sort()).toEqual(["j-000000000001", "j-000000000002"]);
    expect(
      store.jobs
        .list("alice", { limit: 10 })
        .map((record) => record.jobId)
        .sort(),
    ).toEqual(["j-000000000003", "j-000000000004", "j-000000000005", "j-000000000006"]);
    expect(store.jobs.pruneEnded(at(-HOUR_MS))).toEqual([]);
  });

  it("keeps jobs with their outcome across reopening", () => {
    const before = open();
    before.jobs.insert(job("alice", "j-00000000000a"));
    before.jobs.update("j-00000000000a", {
      status: "succeeded",
      runnerId: "r-job-1",
      startedAt: at(1),
      endedAt: at(2),
      outcome: OUTCOME,
      keptUntil: at(HOUR_MS),
    });
    before.jobs.insert(job("bob", "j-00000000000b"));
    before.close();
    const after = open();
    expect(after.jobs.get("alice", "j-00000000000a")).toEqual(
      job("alice", "j-00000000000a", {
        status: "succeeded",
        runnerId: "r-job-1",
        startedAt: at(1),
        endedAt: at(2),
        outcome: OUTCOME,
        keptUntil: at(HOUR_MS),
      }),
    );
    expect(after.jobs.active().map((record) => record.jobId)).toEqual(["j-00000000000b"]);
    expect(after.jobs.kept().map((record) => record.jobId)).toEqual(["j-00000000000a"]);
  });

  it("keeps every record across a close and a new store on the same file (the restart guarantee)", () => {
    const before = open();
    before.claimIdempotencyKey(claim("alice", "k"));
    before.completeIdempotencyKey("alice", "k", "r-1");
    before.recordSpawn(spawn("alice", "r-2", { status: "failed", error: "boom" }));
    before.touchRunner("alice", "r-1", "2030-01-01T00:00:00.000Z");
    before.touchWorkspace("alice", "ws", "2030-01-01T00:00:00.000Z");
    before.createTask(task("alice", "t", { status: "completed", result: { content: [] } }));
    before.close();
    expect(before.isHealthy()).toBe(false);
    before.close();

    const after = open();
    expect(after.claimIdempotencyKey(claim("alice", "k"))).toMatchObject({
      status: "existing",
      record: { runnerId: "r-1", completed: true },
    });
    expect(after.findSpawn("alice", "r-2")).toMatchObject({ status: "failed", error: "boom" });
    expect(after.runnerActivity("alice")).toEqual(new Map([["r-1", "2030-01-01T00:00:00.000Z"]]));
    expect(after.workspaceActivity("alice")).toEqual(new Map([["ws", "2030-01-01T00:00:00.000Z"]]));
    expect(after.getTask("alice", "t")).toMatchObject({ status: "completed", result: { content: [] } });
  });

  it("works in memory for tests, each store private", () => {
    const one = open(":memory:");
    const two = open(":memory:");
    one.createTask(task("alice", "t"));
    expect(one.getTask("alice", "t")?.taskId).toBe("t");
    expect(two.getTask("alice", "t")).toBeUndefined();
    expect(one.isHealthy()).toBe(true);
  });
});
