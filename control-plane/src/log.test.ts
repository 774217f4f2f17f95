import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "./log.js";
import { createAuditLog } from "./observability/audit-log.js";

/** Secrets as they reach log calls: as fields, inside text, in error messages, in child bindings and in the message. */
const GITHUB_TOKEN = "ghp_Abc123Def456Ghi789Jkl012Mno345Pqr678";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const HEX_KEY = "0123456789abcdef0123456789abcdef";
const SECRETS = ["hunter2", GITHUB_TOKEN, JWT, HEX_KEY, "s3cret-pass", "r-token-value"];

const hostileFields = {
  note: "API_TOKEN=hunter2 make",
  header: `Authorization: Bearer ${JWT}`,
  password: "s3cret-pass",
  apiKey: GITHUB_TOKEN,
  nested: { detail: `key ${HEX_KEY}`, token: "r-token-value" },
  logs: `agent: starting\nDEVHATCHERY_AGENT_TOKEN=${HEX_KEY}\n`,
};

function captureLogger(): { log: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  return { log: createLogger("debug", sink), text: () => chunks.join("") };
}

describe("createLogger", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-log-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("redacts what the audit log redacts, in fields, errors, bindings and messages", async () => {
    const { log, text } = captureLogger();
    log.warn(hostileFields, "runner failed to start");
    log.error({ err: new Error(`pull failed: password=hunter2 ${GITHUB_TOKEN}`) }, "docker call failed");
    log
      .child({ runner: "r-1" })
      .child({ detail: `token=${HEX_KEY}` })
      .info(`connected with Bearer ${JWT}`);
    log.error(new Error(`no such host, token=hunter2`));
    const auditPath = join(dir, "audit.jsonl");
    const audit = createAuditLog(auditPath);
    audit.record({ action: "runner.start", principal: "alice", outcome: "failed", ...hostileFields });
    audit.close();
    const logged = text();
    const audited = await readFile(auditPath, "utf8");
    for (const secret of SECRETS) {
      expect(audited).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    const lines = logged
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      msg: "runner failed to start",
      note: "API_TOKEN=[redacted] make",
      password: "[redacted]",
      nested: { token: "[redacted]" },
    });
    expect(lines[1]).toMatchObject({
      msg: "docker call failed",
      err: { type: "Error", message: "pull failed: password=[redacted] [redacted]" },
    });
    expect((lines[1]!.err as { stack: string }).stack).toMatch(
      /^Error: pull failed: password=\[redacted\] \[redacted\]\n +at /,
    );
    expect(lines[2]).toMatchObject({
      msg: "connected with Bearer [redacted]",
      runner: "r-1",
      detail: "token=[redacted]",
    });
    expect(lines[3]).toMatchObject({ msg: "no such host, token=[redacted]" });
  });

  it("keeps ordinary fields as they are", () => {
    const { log, text } = captureLogger();
    log.info(
      { runner: "r-1a2b3c", requestId: "5f0c9a52-8d7e-4b1a-9c3d-2e6f7a8b9c0d", durationMs: 12, ok: true },
      "runner ready",
    );
    expect(JSON.parse(text())).toMatchObject({
      runner: "r-1a2b3c",
      requestId: "5f0c9a52-8d7e-4b1a-9c3d-2e6f7a8b9c0d",
      durationMs: 12,
      ok: true,
      msg: "runner ready",
    });
  });
});
