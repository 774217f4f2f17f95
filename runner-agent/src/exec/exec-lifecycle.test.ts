import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ExecState, ExitReason, type ExecEvent, type ExecInfo } from "@devhatchery/proto/agent/v1/exec";
import { authMetadata, startExecAgent, startProcess, unaryCall, type ExecAgent } from "../../test/agent-harness.js";
import type { ExecSettings } from "./exec-settings.js";

describe("ExecService process lifecycle: list, retention, reaping, remove, shutdown", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An agent with its own spill directory, both removed after the test. */
  async function agentWith(settings: Partial<ExecSettings>): Promise<{ agent: ExecAgent; spillDir: string }> {
    const spillDir = await mkdtemp(join(tmpdir(), "devhatchery-spill-test-"));
    cleanups.push(() => rm(spillDir, { recursive: true, force: true }));
    const agent = await startExecAgent({ spillDir, ...settings });
    cleanups.push(() => agent.close());
    return { agent, spillDir };
  }

  const get = (agent: ExecAgent, execId: string) =>
    unaryCall<{ exec?: ExecInfo }>((metadata, callback) => agent.exec.get({ execId }, metadata, callback)).then(
      (r) => r.exec!,
    );
  const list = (agent: ExecAgent) =>
    unaryCall<{ execs: ExecInfo[] }>((metadata, callback) => agent.exec.list({}, metadata, callback)).then(
      (r) => r.execs,
    );
  const remove = (agent: ExecAgent, execId: string) =>
    unaryCall((metadata, callback) => agent.exec.remove({ execId }, metadata, callback));
  const kill = (agent: ExecAgent, execId: string) =>
    unaryCall((metadata, callback) => agent.exec.signal({ execId, signal: "SIGKILL" }, metadata, callback));

  async function finished(agent: ExecAgent, execId: string): Promise<ExecInfo> {
    await expect
      .poll(async () => (await get(agent, execId)).state, { timeout: 10_000 })
      .toBe(ExecState.EXEC_STATE_EXITED);
    return get(agent, execId);
  }

  const notFound = (execId: string, settings = "kept 1800 s, at most 64") =>
    `Exec "${execId}" not found: no such process, or it ended long enough ago to be reaped (finished processes are ${settings}); list processes with List.`;

  it("lists running processes first, then finished ones, each by start time, with what they are and how far they got", async () => {
    const { agent } = await agentWith({});
    const done = await startProcess(agent.exec, { shell: "printf hello", cwd: "/tmp" });
    await finished(agent, done.execId);
    const first = await startProcess(agent.exec, { argv: ["sleep", "30"] });
    const long = await startProcess(agent.exec, { shell: `sleep 30 # ${"x".repeat(300)}` });
    const execs = await list(agent);
    expect(execs.map((exec) => exec.execId)).toEqual([first.execId, long.execId, done.execId]);
    expect(execs[0]).toMatchObject({
      state: ExecState.EXEC_STATE_RUNNING,
      command: "sleep 30",
      cwd: agent.workDir,
      exit: undefined,
      endedAtMs: 0,
      pid: first.pid,
    });
    expect(execs[1]!.command).toBe(`sleep 30 # ${"x".repeat(188)}…`);
    expect(execs[2]).toMatchObject({
      state: ExecState.EXEC_STATE_EXITED,
      command: "printf hello",
      cwd: "/tmp",
      exit: { reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 },
      output: { endCursor: 5, startCursor: 0, memoryBytes: 5, spilledBytes: 0, readers: 0 },
    });
    expect(execs[2]!.endedAtMs).toBeGreaterThanOrEqual(execs[2]!.startedAtMs);
    await kill(agent, first.execId);
    await kill(agent, long.execId);
  });

  it("reaps the oldest finished processes past retain_count, deleting their spill files", async () => {
    const { agent, spillDir } = await agentWith({ retainCount: 2, ringBytes: 16 * 1024, maxOutputBytes: 1024 * 1024 });
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      const info = await startProcess(agent.exec, { shell: "head -c 100000 /dev/zero" });
      await finished(agent, info.execId);
      await expect.poll(async () => (await get(agent, info.execId)).output?.spilledBytes).toBe(100_000);
      ids.push(info.execId);
    }
    await expect.poll(async () => (await readdir(spillDir)).sort()).toEqual(ids.slice(1).sort());
    await expect(get(agent, ids[0]!)).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: notFound(ids[0]!, "kept 1800 s, at most 2"),
    });
    expect((await list(agent)).map((exec) => exec.execId)).toEqual(ids.slice(1));
  });

  it("reaps a finished process after retain_ms, and a reader still replaying it learns why its stream ends", async () => {
    // More output than the client's transport buffers hold, so that the reader really is behind when the reaping comes.
    const { agent, spillDir } = await agentWith({
      retainMs: 1_500,
      ringBytes: 16 * 1024,
      maxOutputBytes: 64 * 1024 * 1024,
    });
    const info = await startProcess(agent.exec, { shell: "head -c 20000000 /dev/zero" });
    await finished(agent, info.execId);
    const call = agent.exec.attach({ execId: info.execId, cursor: 0, keepaliveMs: 0 }, authMetadata());
    const outcome = new Promise<{ bytes: number; error: unknown }>((resolve) => {
      let bytes = 0;
      call.on("data", (event: ExecEvent) => {
        if (event.event?.$case !== "output") return;
        bytes += event.event.value.data.length;
        // Stop reading after the first chunk until the process has been reaped.
        if (bytes === event.event.value.data.length) {
          call.pause();
          void expect
            .poll(() => existsSync(join(spillDir, info.execId)), { timeout: 10_000 })
            .toBe(false)
            .then(() => call.resume());
        }
      });
      call.on("error", (error) => resolve({ bytes, error }));
      call.on("end", () => resolve({ bytes, error: undefined }));
    });
    const { bytes, error } = await outcome;
    expect(bytes).toBeLessThan(20_000_000);
    expect(error).toMatchObject({
      code: status.NOT_FOUND,
      details: `Exec "${info.execId}" was reaped and its output deleted; start the command again.`,
    });
    await expect(get(agent, info.execId)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it("removes a finished process on request, and refuses to remove a running one", async () => {
    const { agent, spillDir } = await agentWith({ ringBytes: 16 * 1024, maxOutputBytes: 1024 * 1024 });
    const running = await startProcess(agent.exec, { shell: "head -c 100000 /dev/zero; sleep 30" });
    await expect(remove(agent, running.execId)).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `Exec "${running.execId}" is still running; end it with Signal or Interrupt first, then remove it.`,
    });
    await expect.poll(() => existsSync(join(spillDir, running.execId))).toBe(true);
    await kill(agent, running.execId);
    await finished(agent, running.execId);
    await remove(agent, running.execId);
    expect(existsSync(join(spillDir, running.execId))).toBe(false);
    await expect(get(agent, running.execId)).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: notFound(running.execId),
    });
  });

  it("empties its spill directory of old spill files at start, leaving anything else there alone", async () => {
    const spillDir = await mkdtemp(join(tmpdir(), "devhatchery-spill-test-"));
    cleanups.push(() => rm(spillDir, { recursive: true, force: true }));
    await mkdir(join(spillDir, "ex_0123456789abcdef"));
    await writeFile(join(spillDir, "ex_0123456789abcdef", "000000.seg"), "old");
    await writeFile(join(spillDir, "keep.txt"), "not ours");
    const agent = await startExecAgent({ spillDir });
    cleanups.push(() => agent.close());
    expect(await readdir(spillDir)).toEqual(["keep.txt"]);
  });

  it("stops running processes and deletes every spill file when the agent shuts down", async () => {
    const spillDir = await mkdtemp(join(tmpdir(), "devhatchery-spill-test-"));
    cleanups.push(() => rm(spillDir, { recursive: true, force: true }));
    const agent = await startExecAgent({
      spillDir,
      ringBytes: 16 * 1024,
      maxOutputBytes: 1024 * 1024,
      killGraceMs: 300,
    });
    const sleeper = await startProcess(agent.exec, { shell: "trap '' TERM; sleep 30" });
    const writer = await startProcess(agent.exec, { shell: "head -c 100000 /dev/zero" });
    await finished(agent, writer.execId);
    await expect.poll(() => readdir(spillDir)).toEqual([writer.execId]);
    await agent.close();
    expect(await readdir(spillDir)).toEqual([]);
    expect(existsSync(`/proc/${sleeper.pid}`)).toBe(false);
  });
});
