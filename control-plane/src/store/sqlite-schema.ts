import type { DatabaseSync } from "node:sqlite";
import { ControlPlaneError } from "../errors.js";

/**
 * Forward-only migrations: entry N takes the schema from version N to N + 1. Never edit a shipped entry; append one.
 * Times are ISO 8601 UTC strings (Date#toISOString), so they compare as text.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    runner_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (principal, key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

  CREATE TABLE spawns (
    runner_id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    image TEXT NOT NULL,
    workspace_key TEXT,
    alias TEXT,
    status TEXT NOT NULL CHECK (status IN ('starting', 'failed')),
    error TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX spawns_principal ON spawns (principal, created_at);

  CREATE TABLE runner_activity (
    runner_id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX runner_activity_principal ON runner_activity (principal);

  CREATE TABLE workspace_activity (
    principal TEXT NOT NULL,
    workspace_key TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (principal, workspace_key)
  ) WITHOUT ROWID;

  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL UNIQUE,
    principal TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    request TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    last_updated_at TEXT NOT NULL,
    ttl_ms INTEGER,
    poll_interval_ms INTEGER,
    expires_at TEXT
  );
  CREATE INDEX tasks_principal ON tasks (principal, seq);
  CREATE INDEX tasks_expiry ON tasks (expires_at);
  `,
  // Runner agent tokens: handed to each agent on its stdin at every start, so the engine never holds them.
  `
  CREATE TABLE runner_tokens (
    runner_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // Runners the control plane stopped or paused for idleness: the next call naming one starts it again.
  `
  CREATE TABLE runner_idle (
    runner_id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('stop', 'pause')),
    at TEXT NOT NULL
  );
  `,
  // Images the control plane pulled for runners: garbage collection may remove them once no container uses them.
  `
  CREATE TABLE pulled_images (
    image TEXT PRIMARY KEY,
    pulled_at TEXT NOT NULL
  );
  `,
  // Pooled runners claimed by a principal: labels cannot change, so the claim is the owner (ADR 0017). The primary
  // key makes two claims of one runner impossible, also across a crash.
  `
  CREATE TABLE runner_claims (
    runner_id TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    principal TEXT NOT NULL,
    alias TEXT,
    env TEXT NOT NULL,
    limits TEXT NOT NULL,
    token TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claiming', 'claimed')),
    claimed_at TEXT NOT NULL
  );
  CREATE INDEX runner_claims_principal ON runner_claims (principal);
  `,
  // One-shot agent jobs (job_run): the request without secret values, status and outcome, and the runner kept for
  // inspection until kept_until.
  `
  CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    request TEXT NOT NULL,
    outcome TEXT,
    runner_id TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    kept_until TEXT
  );
  CREATE INDEX jobs_principal ON jobs (principal, created_at);
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to SCHEMA_VERSION inside one write transaction, so two processes opening the same new file
 * migrate it once. A file written by a newer DevHatchery is refused rather than guessed at.
 */
export function migrateSchema(db: DatabaseSync, path: string): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = db.prepare("SELECT version FROM schema_version").get();
    const current = row === undefined ? 0 : Number(row.version);
    if (current > SCHEMA_VERSION) {
      throw new ControlPlaneError(
        "FAILED_PRECONDITION",
        `The state store "${path}" has schema version ${current}, newer than this DevHatchery understands (${SCHEMA_VERSION}); ` +
          "upgrade DevHatchery, or point state.dir (DEVHATCHERY_STATE_DIR) at another folder.",
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version] ?? "");
    if (row === undefined) db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    else db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** The version recorded in an open database (0 for an empty file); for tests and diagnostics. */
export function schemaVersionOf(db: DatabaseSync): number {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (table === undefined) return 0;
  return Number(db.prepare("SELECT version FROM schema_version").get()?.version ?? 0);
}
