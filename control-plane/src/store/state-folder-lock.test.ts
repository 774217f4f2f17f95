import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlPlaneError } from "../errors.js";
import { lockStateFolder, STATE_LOCK_FILE, STATE_PID_FILE } from "./state-folder-lock.js";

/**
 * A child process that holds the lock as lockStateFolder does (an open BEGIN EXCLUSIVE on the lock file, then its
 * pid), prints "locked" and waits to be killed. The built module is not importable from here without a build.
 */
const HOLDER = `
const { DatabaseSync } = require("node:sqlite");
const { writeFileSync } = require("node:fs");
const db = new DatabaseSync(require("node:path").join(process.argv[1], ${JSON.stringify(STATE_LOCK_FILE)}), { timeout: 0 });
db.exec("PRAGMA journal_mode = DELETE");
db.exec("BEGIN EXCLUSIVE");
writeFileSync(require("node:path").join(process.argv[1], ${JSON.stringify(STATE_PID_FILE)}), process.pid + "\\n");
process.stdout.write("locked\\n");
setInterval(() => {}, 1000);
`;

describe("lockStateFolder", () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), "devhatchery-lock-test-"));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it("refuses a second holder, naming the first one's pid and the fix, until the first releases", () => {
    const first = lockStateFolder(stateDir, 4242);
    expect(readFileSync(join(stateDir, STATE_PID_FILE), "utf8")).toBe("4242\n");
    let refusal: unknown;
    try {
      lockStateFolder(stateDir, 4343);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ControlPlaneError);
    expect(refusal).toMatchObject({
      code: "FAILED_PRECONDITION",
      message:
        `The state folder "${stateDir}" is in use by another control plane (pid 4242); two control planes on one state store would adopt and ` +
        "reconcile each other's runners. Stop that one, or give this one another state.dir (DEVHATCHERY_STATE_DIR).",
    });
    first.release();
    lockStateFolder(stateDir, 4343).release();
  });

  it("is free again as soon as a holder is SIGKILLed: no stale lock survives a crash", async () => {
    const child = spawn(process.execPath, ["-e", HOLDER, stateDir], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
        child.once("exit", (code) => reject(new Error(`the holder exited with ${code} before locking`)));
      });
      expect(() => lockStateFolder(stateDir)).toThrow(`(pid ${child.pid})`);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    // The dead holder's pid file is still there; the lock is not.
    expect(readFileSync(join(stateDir, STATE_PID_FILE), "utf8")).toBe(`${child.pid}\n`);
    const lock = lockStateFolder(stateDir);
    expect(readFileSync(join(stateDir, STATE_PID_FILE), "utf8")).toBe(`${process.pid}\n`);
    lock.release();
  });
});
