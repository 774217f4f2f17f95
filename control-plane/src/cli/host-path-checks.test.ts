import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { checkHostPaths, describeAuditLog, folderState } from "./host-path-checks.js";

const dir = mkdtempSync(join(tmpdir(), "devhatchery-host-paths-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function auditProblems(auditLog: string): unknown[] {
  const config = loadConfig({ HOME: dir, DEVHATCHERY_AUDIT_LOG: auditLog });
  return checkHostPaths(config, loadConfig({ HOME: dir })).filter((problem) => problem.where === "log.audit");
}

describe("the audit log's folder", () => {
  it("passes when missing but creatable under a writable folder, and validate says it will be created", () => {
    const auditLog = join(dir, "logs", "devhatchery", "audit.log");
    expect(folderState(join(dir, "logs", "devhatchery"))).toEqual({ state: "creatable" });
    expect(auditProblems(auditLog)).toEqual([]);
    expect(describeAuditLog(auditLog)).toBe(
      `${auditLog} (its folder ${join(dir, "logs", "devhatchery")} will be created)`,
    );
  });

  it("passes when it exists", () => {
    mkdirSync(join(dir, "present"));
    const auditLog = join(dir, "present", "audit.log");
    expect(folderState(join(dir, "present"))).toEqual({ state: "exists" });
    expect(auditProblems(auditLog)).toEqual([]);
    expect(describeAuditLog(auditLog)).toBe(auditLog);
  });

  it("fails when a file stands where a folder would have to be created", () => {
    writeFileSync(join(dir, "a-file"), "");
    const auditLog = join(dir, "a-file", "sub", "audit.log");
    expect(auditProblems(auditLog)).toEqual([
      {
        where: "log.audit",
        message: `the folder of the audit log "${auditLog}" cannot be created: "${join(dir, "a-file")}" is a file, not a folder; choose another path or create the folder`,
      },
    ]);
    expect(folderState(join(dir, "a-file"))).toEqual({
      state: "blocked",
      reason: `"${join(dir, "a-file")}" is a file, not a folder`,
    });
  });

  it("names streams and off as they are", () => {
    expect([describeAuditLog(undefined), describeAuditLog("stderr"), describeAuditLog("stdout")]).toEqual([
      "off",
      "stderr",
      "stdout",
    ]);
  });
});
