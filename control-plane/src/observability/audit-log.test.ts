import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlPlaneError } from "../errors.js";
import { runWithRequestContext } from "../request-context.js";
import { createAuditLog } from "./audit-log.js";

const NOW = () => new Date("2026-01-02T03:04:05.000Z");

describe("createAuditLog", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-audit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lines = async (path: string) =>
    (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("appends one JSON line per record to a 0600 file, with the request's correlation id and principal", async () => {
    const path = join(dir, "nested", "audit.jsonl");
    const audit = createAuditLog(path, NOW);
    runWithRequestContext({ correlationId: "req-1", principal: "alice" }, () => {
      audit.record({
        action: "fs.write",
        principal: "alice",
        outcome: "ok",
        runner: "r-1",
        path: "/work/a.txt",
        size: 5,
      });
      audit.record({ action: "auth.failure", principal: "", outcome: "denied", reason: "invalid" });
    });
    audit.record({ action: "runner.stop", principal: "bob", outcome: "ok", runner: "r-2" });
    audit.close();
    expect(await lines(path)).toEqual([
      {
        time: "2026-01-02T03:04:05.000Z",
        action: "fs.write",
        outcome: "ok",
        principal: "alice",
        correlationId: "req-1",
        runner: "r-1",
        path: "/work/a.txt",
        size: 5,
      },
      {
        time: "2026-01-02T03:04:05.000Z",
        action: "auth.failure",
        outcome: "denied",
        principal: "alice",
        correlationId: "req-1",
        reason: "invalid",
      },
      { time: "2026-01-02T03:04:05.000Z", action: "runner.stop", outcome: "ok", principal: "bob", runner: "r-2" },
    ]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("redacts secret-looking fields and values before writing", async () => {
    const path = join(dir, "audit.jsonl");
    const audit = createAuditLog(path, NOW);
    audit.record({
      action: "exec.start",
      principal: "alice",
      outcome: "ok",
      program: "make",
      note: "API_TOKEN=hunter2-abc",
      token: "r-token",
    });
    audit.close();
    const text = await readFile(path, "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("r-token");
    expect(await lines(path)).toEqual([
      {
        time: "2026-01-02T03:04:05.000Z",
        action: "exec.start",
        outcome: "ok",
        principal: "alice",
        program: "make",
        note: "API_TOKEN=[redacted]",
        token: "[redacted]",
      },
    ]);
  });

  it("drops records after close and when no destination is configured", async () => {
    const path = join(dir, "audit.jsonl");
    const audit = createAuditLog(path, NOW);
    audit.close();
    audit.record({ action: "runner.stop", principal: "bob", outcome: "ok" });
    expect(await readFile(path, "utf8")).toBe("");
    expect(() =>
      createAuditLog(undefined).record({ action: "runner.stop", principal: "bob", outcome: "ok" }),
    ).not.toThrow();
  });

  it("refuses a relative path and an unwritable one, saying how to fix it", () => {
    expect(() => createAuditLog("audit.jsonl")).toThrow(
      new ControlPlaneError(
        "INVALID_ARGUMENT",
        'Audit log destination "audit.jsonl" is neither "stderr", "stdout" nor an absolute file path; set auditLog to one of those.',
      ),
    );
    expect(() => createAuditLog(dir)).toThrow(
      /^Cannot open the audit log ".*" for appending \(EISDIR: .*\); choose a writable path or "stderr"\.$/,
    );
  });
});
