import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ControlPlaneError } from "../errors.js";
import { migrateSchema } from "./sqlite-schema.js";

/** How long a write waits for another process holding the database lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;
const FIX = "point state.dir (DEVHATCHERY_STATE_DIR) at a folder the control plane can write";

/**
 * Opens (creating when missing) the state database at `path`: the folder 0700 and the file 0600, since it holds
 * principals' idempotency keys and task results; WAL so readers never block the writer; the schema migrated.
 * Every failure names the path and the fix.
 */
export function openSqliteDatabase(path: string): DatabaseSync {
  if (path !== ":memory:") prepareFile(path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw openError(path, error);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    migrateSchema(db, path);
    return db;
  } catch (error) {
    db.close();
    throw openError(path, error);
  }
}

/** Creates the state folder (0700) when missing; a failure names the folder and the fix. */
export function createStateFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `Cannot create the state store folder "${folder}" (${reason(error)}); create it, or ${FIX}.`,
      { cause: error },
    );
  }
}

function prepareFile(path: string): void {
  createStateFolder(dirname(path));
  try {
    // "a" creates the file with 0600 when missing and leaves an existing one (and its mode) alone.
    closeSync(openSync(path, "a", 0o600));
  } catch (error) {
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `Cannot create the state store "${path}" (${reason(error)}); ${FIX}.`,
      { cause: error },
    );
  }
}

function openError(path: string, error: unknown): ControlPlaneError {
  if (error instanceof ControlPlaneError) return error;
  const sqliteCode = (error as { errcode?: number }).errcode;
  // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26): the file is there but is not a usable database.
  if (sqliteCode === 11 || sqliteCode === 26) {
    return new ControlPlaneError(
      "FAILED_PRECONDITION",
      `The state store "${path}" is not a readable SQLite database (${reason(error)}); move the file aside ` +
        `(a new one is created on start, forgetting idempotency keys and task records), or ${FIX}.`,
      { cause: error },
    );
  }
  return new ControlPlaneError(
    "FAILED_PRECONDITION",
    `Cannot open the state store "${path}" (${reason(error)}); ${FIX}.`,
    { cause: error },
  );
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
