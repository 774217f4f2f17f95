import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExecState,
  ExitReason,
  OutputStream,
  type ExecEvent,
  type ExecStartRequest,
} from "@devhatchery/proto/agent/v1/exec";
import {
  authMetadata,
  execStartRequest,
  followExec,
  startExecAgent,
  startProcess,
  unaryCall,
  type ExecAgent,
  type ExecFollower,
} from "../../test/agent-harness.js";

type Event = NonNullable<ExecEvent["event"]>;

describe("ExecService process control: stdin, signals, interrupt, timeout", () => {
  let agent: ExecAgent;
  const followers: ExecFollower[] = [];

  beforeAll(async () => {
    agent = await startExecAgent({ killGraceMs: 300 });
  });
  afterAll(async () => {
    for (const follower of followers) follower.cancel();
    await agent.close();
  });

  /** Starts a process through Exec and follows it; resolves once its output contains `ready` (when given). */
  async function run(
    request: Partial<ExecStartRequest>,
    ready?: string,
  ): Promise<{ id: string; follower: ExecFollower }> {
    const follower = followExec(agent.exec.exec(execStartRequest(request), authMetadata()));
    followers.push(follower);
    const started = await follower.next((event) => event.$case === "started");
    if (ready) await waitForOutput(follower, ready);
    return { id: started.$case === "started" ? started.value.execId : "", follower };
  }

  async function waitForOutput(follower: ExecFollower, text: string): Promise<void> {
    while (!follower.output().toString().includes(text))
      await follower.next((event) => event.$case === "output" || event.$case === "exited");
  }

  async function exitOf(follower: ExecFollower): Promise<Extract<Event, { $case: "exited" }>["value"]> {
    const exited = await follower.next((event) => event.$case === "exited");
    if (exited.$case !== "exited") throw new Error("unreachable");
    return exited.value;
  }

  const writeStdin = (execId: string, data: string, close = false) =>
    unaryCall<{ stdinBytes: number }>((metadata, callback) =>
      agent.exec.writeStdin({ execId, data: Buffer.from(data), close }, metadata, callback),
    );
  const signal = (execId: string, name: string) =>
    unaryCall((metadata, callback) => agent.exec.signal({ execId, signal: name }, metadata, callback));
  const interrupt = (execId: string, graceMs = 0) =>
    unaryCall((metadata, callback) => agent.exec.interrupt({ execId, graceMs }, metadata, callback));
  const get = (execId: string) =>
    unaryCall<{ exec?: { state: ExecState } }>((metadata, callback) => agent.exec.get({ execId }, metadata, callback));

  it("streams stdin to an interactive program in order, then closes it", async () => {
    const { id, follower } = await run({ shell: "read x; echo got $x; cat; echo end", stdinOpen: true });
    expect(await writeStdin(id, "hello\n")).toEqual({ stdinBytes: 6 });
    await waitForOutput(follower, "got hello\n");
    await writeStdin(id, "one ");
    expect(await writeStdin(id, "two", true)).toEqual({ stdinBytes: 13 });
    expect(await exitOf(follower)).toMatchObject({ reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 });
    expect(follower.output().toString()).toBe("got hello\none twoend\n");
  });

  it("writes the start request's stdin first and closes it unless stdin_open is set", async () => {
    const closed = await run({ shell: "cat; echo eof", stdin: Buffer.from("abc\n") });
    expect(await exitOf(closed.follower)).toMatchObject({ exitCode: 0 });
    expect(closed.follower.output().toString()).toBe("abc\neof\n");
    const open = await run({ shell: "cat", stdin: Buffer.from("first "), stdinOpen: true }, "first ");
    await writeStdin(open.id, "second", true);
    await exitOf(open.follower);
    expect(open.follower.output().toString()).toBe("first second");
  });

  it("refuses stdin writes to a closed stdin and to an ended process with FAILED_PRECONDITION", async () => {
    const { id, follower } = await run({ shell: "echo ready; sleep 30" }, "ready");
    await expect(writeStdin(id, "x")).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `Stdin of exec "${id}" is closed; start the process with stdin_open to write to it after it started.`,
    });
    await signal(id, "KILL");
    await exitOf(follower);
    await expect(writeStdin(id, "x")).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `Exec "${id}" has already ended (ended by SIGKILL); it cannot take input.`,
    });
  });

  it("delivers a signal by name to the process's handler", async () => {
    const { id, follower } = await run(
      { shell: "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done" },
      "ready",
    );
    await signal(id, "usr1");
    await waitForOutput(follower, "got-usr1\n");
    await signal(id, "SIGHUP");
    expect(await exitOf(follower)).toMatchObject({ reason: ExitReason.EXIT_REASON_SIGNALED, signal: "SIGHUP" });
    expect((await get(id)).exec?.state).toBe(ExecState.EXEC_STATE_EXITED);
  });

  it("signals the whole process group, so a shell's background children end too", async () => {
    const pidFile = `${agent.workDir}/child-${Date.now()}.pid`;
    const { id, follower } = await run({ shell: `sleep 30 & echo $! > ${pidFile}; echo ready; wait` }, "ready");
    const childPid = (await readFile(pidFile, "utf8")).trim();
    expect(existsSync(`/proc/${childPid}`)).toBe(true);
    await signal(id, "TERM");
    expect(await exitOf(follower)).toMatchObject({ reason: ExitReason.EXIT_REASON_SIGNALED, signal: "SIGTERM" });
    await expect.poll(() => existsSync(`/proc/${childPid}`), { timeout: 5_000 }).toBe(false);
  });

  it("refuses an unknown signal with INVALID_ARGUMENT and a signal to an ended process with FAILED_PRECONDITION", async () => {
    const { id, follower } = await run({ shell: "echo ready; sleep 30" }, "ready");
    await expect(signal(id, "SIGNOPE")).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        'Signal "SIGNOPE" is not known; use a name such as "SIGTERM", "SIGINT", "SIGKILL", "SIGHUP" or "SIGUSR1".',
    });
    await signal(id, "SIGKILL");
    await exitOf(follower);
    await expect(signal(id, "SIGTERM")).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `Exec "${id}" has already ended (ended by SIGKILL); it cannot receive SIGTERM.`,
    });
  });

  it("interrupts with SIGINT a process that handles it, and says it was interrupted", async () => {
    const { id, follower } = await run(
      { shell: "trap 'echo bye; exit 3' INT; echo ready; while :; do sleep 0.05; done" },
      "ready",
    );
    await interrupt(id);
    expect(await exitOf(follower)).toMatchObject({
      reason: ExitReason.EXIT_REASON_INTERRUPTED,
      exitCode: 3,
      signal: "",
    });
    expect(follower.output().toString()).toBe("ready\nbye\n");
  });

  it("escalates an interrupt to SIGTERM and then SIGKILL for a process that ignores SIGINT and SIGTERM", async () => {
    const script = "trap 'echo int' INT; trap 'echo term' TERM; echo ready; while :; do sleep 0.05; done";
    const { id, follower } = await run({ shell: script }, "ready");
    await interrupt(id, 200);
    expect(await exitOf(follower)).toMatchObject({ reason: ExitReason.EXIT_REASON_INTERRUPTED, signal: "SIGKILL" });
    // stdout only: the shell also reports its SIGTERM-killed sleep ("Terminated") on stderr.
    expect(follower.output(OutputStream.OUTPUT_STREAM_STDOUT).toString()).toBe("ready\nint\nterm\n");
  });

  it("answers an interrupt of an ended process with its exit, changing nothing", async () => {
    const { id, follower } = await run({ argv: ["true"] });
    await exitOf(follower);
    const response = await interrupt(id);
    expect(response).toMatchObject({
      exec: { state: ExecState.EXEC_STATE_EXITED, exit: { reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 } },
    });
  });

  it("ends a process that outlives timeout_ms with SIGTERM, then SIGKILL after kill_grace_ms when it ignores SIGTERM", async () => {
    const { follower } = await run({
      shell: "trap 'echo term' TERM; echo ready; while :; do sleep 0.05; done",
      timeoutMs: 300,
      killGraceMs: 200,
    });
    expect(await exitOf(follower)).toMatchObject({ reason: ExitReason.EXIT_REASON_TIMED_OUT, signal: "SIGKILL" });
    expect(follower.output(OutputStream.OUTPUT_STREAM_STDOUT).toString()).toBe("ready\nterm\n");
  });

  it("answers NOT_FOUND for an exec id it does not hold", async () => {
    const message =
      'Exec "ex_0000000000000000" not found: no such process, or it ended long enough ago to be reaped (finished processes are kept 1800 s, at most 64); list processes with List.';
    await expect(get("ex_0000000000000000")).rejects.toMatchObject({ code: status.NOT_FOUND, details: message });
    await expect(interrupt("ex_0000000000000000")).rejects.toMatchObject({ code: status.NOT_FOUND, details: message });
    const attach = followExec(
      agent.exec.attach({ execId: "ex_0000000000000000", cursor: 0, keepaliveMs: 0 }, authMetadata()),
    );
    expect(await attach.ended).toMatchObject({ code: status.NOT_FOUND, details: message });
  });

  it("starts with Start and returns at once with the running process", async () => {
    const info = await startProcess(agent.exec, { shell: "sleep 30", cwd: "/tmp" });
    expect(info).toMatchObject({
      state: ExecState.EXEC_STATE_RUNNING,
      command: "sleep 30",
      cwd: "/tmp",
      user: "",
      pty: false,
      stdinOpen: false,
      exit: undefined,
      endedAtMs: 0,
    });
    expect(info.pid).toBeGreaterThan(0);
    await signal(info.execId, "KILL");
  });
});
