import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ControlPlaneError } from "../errors.js";
import { createStateFolder } from "./sqlite-database.js";

/** The file whose OS lock marks the state folder as in use; a small SQLite database, only ever locked. */
export const STATE_LOCK_FILE = "control-plane.lock";
/** The pid of the control plane holding the lock, written once it holds it; only read to name it in the refusal. */
export const STATE_PID_FILE = "control-plane.pid";

/** The state folder of a running control plane; release() gives it up (closing the process does too). */
export interface StateFolderLock {
  release(): void;
}

/**
 * Takes the state folder for this process, or refuses (FAILED_PRECONDITION naming the holder's pid and the fix) when
 * another control plane holds it. The lock is SQLite's exclusive lock (an fcntl lock) on `control-plane.lock`, held
 * by an open transaction: the kernel drops it when the holder exits in any way, SIGKILL included, so no stale lock
 * can outlive a crash and no pid check (nor pid reuse) decides anything.
 */
export function lockStateFolder(stateDir: string, pid = process.pid): StateFolderLock {
  createStateFolder(stateDir);
  const lockPath = join(stateDir, STATE_LOCK_FILE);
  const pidPath = join(stateDir, STATE_PID_FILE);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(lockPath, { timeout: 0 });
  } catch (error) {
    throw lockError(stateDir, error);
  }
  try {
    db.exec("PRAGMA journal_mode = DELETE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    if ((error as { errcode?: number }).errcode !== SQLITE_BUSY) throw lockError(stateDir, error);
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `The state folder "${stateDir}" is in use by another control plane (${holderOf(pidPath)}); two control planes on one ` +
        "state store would adopt and reconcile each other's runners. Stop that one, or give this one another state.dir (DEVHATCHERY_STATE_DIR).",
      { cause: error },
    );
  }
  try {
    writeFileSync(pidPath, `${pid}\n`, { mode: 0o600 });
  } catch (error) {
    db.close();
    throw lockError(stateDir, error);
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      rmSync(pidPath, { force: true });
      db.close();
    },
  };
}

const SQLITE_BUSY = 5;

function holderOf(pidPath: string): string {
  try {
    const pid = readFileSync(pidPath, "utf8").trim();
    return /^\d+$/.test(pid) ? `pid ${pid}` : "pid unknown";
  } catch {
    return "pid unknown: it has not written it yet";
  }
}

function lockError(stateDir: string, error: unknown): ControlPlaneError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ControlPlaneError(
    "FAILED_PRECONDITION",
    `Cannot lock the state folder "${stateDir}" (${reason}); point state.dir (DEVHATCHERY_STATE_DIR) at a local folder the control plane can write.`,
    { cause: error },
  );
}
