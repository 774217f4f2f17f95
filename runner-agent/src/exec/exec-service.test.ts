import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitReason, OutputStream, type ExecEvent } from "@devhatchery/proto/agent/v1/exec";
import {
  authMetadata,
  collectExec,
  execStartRequest,
  followExec,
  startAgentHarness,
  type AgentHarness,
} from "../../test/agent-harness.js";

type Event = NonNullable<ExecEvent["event"]>;

function outputOf(events: ExecEvent["event"][], stream: OutputStream): string {
  return events
    .filter(
      (event): event is Extract<Event, { $case: "output" }> =>
        event?.$case === "output" && event.value.stream === stream,
    )
    .map((event) => Buffer.from(event.value.data).toString("utf8"))
    .join("");
}

function exitedOf(events: ExecEvent["event"][]) {
  const last = events.at(-1);
  if (last?.$case !== "exited") throw new Error(`last event is ${last?.$case}, not exited`);
  return last.value;
}

describe("ExecService over a real gRPC server", () => {
  let agent: AgentHarness;
  beforeAll(async () => {
    agent = await startAgentHarness();
  });
  afterAll(async () => {
    await agent.close();
  });

  it("streams started, output with increasing sequence numbers and contiguous cursors, then exited with the exit code", async () => {
    const events = await collectExec(agent.exec, { shell: "echo one; echo two >&2; exit 7" });
    expect(events[0]?.$case).toBe("started");
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("one\n");
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDERR)).toBe("two\n");
    const seqs = events.flatMap((event) => (event?.$case === "output" ? [event.value.seq] : []));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs[0]).toBe(1);
    let cursor = 0;
    for (const event of events) {
      if (event?.$case !== "output") continue;
      expect(event.value.cursor).toBe(cursor);
      cursor += event.value.data.length;
    }
    expect(cursor).toBe(8);
    expect(exitedOf(events)).toMatchObject({ reason: ExitReason.EXIT_REASON_EXITED, exitCode: 7, signal: "" });
  });

  it("runs argv without a shell and in the work directory by default", async () => {
    const events = await collectExec(agent.exec, { argv: ["pwd"] });
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDOUT)).toBe(`${agent.workDir}\n`);
    expect(exitedOf(events).exitCode).toBe(0);
  });

  it("gives commands an empty stdin so readers see end of file at once", async () => {
    const events = await collectExec(agent.exec, { shell: "cat; echo done" });
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("done\n");
  });

  it("passes cwd and env, and never the runner token", async () => {
    const events = await collectExec(agent.exec, {
      shell: 'pwd; echo "$GREETING"; env | grep -c DEVHATCHERY_AGENT_ || true',
      cwd: "/tmp",
      env: { GREETING: "hello", DEVHATCHERY_AGENT_TOKEN: "smuggled" },
    });
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("/tmp\nhello\n0\n");
  });

  it("passes binary output through unchanged", async () => {
    const events = await collectExec(agent.exec, { shell: "printf '\\000\\377\\001'" });
    const bytes = Buffer.concat(
      events.flatMap((event) => (event?.$case === "output" ? [Buffer.from(event.value.data)] : [])),
    );
    expect([...bytes]).toEqual([0, 255, 1]);
  });

  it("delivers large output completely through backpressure", async () => {
    const events = await collectExec(agent.exec, { shell: "yes 0123456789abcdef | head -c 20000000" });
    const bytes = events.reduce((sum, event) => sum + (event?.$case === "output" ? event.value.data.length : 0), 0);
    expect(bytes).toBe(20_000_000);
    expect(exitedOf(events).exitCode).toBe(0);
  });

  it("ends a process that outlives timeout_ms and says it timed out", async () => {
    const events = await collectExec(agent.exec, { shell: "sleep 30", timeoutMs: 200 });
    expect(exitedOf(events)).toMatchObject({ reason: ExitReason.EXIT_REASON_TIMED_OUT, signal: "SIGTERM" });
  });

  it("reports a process ended by a signal", async () => {
    const events = await collectExec(agent.exec, { shell: "kill -KILL $$" });
    expect(exitedOf(events)).toMatchObject({ reason: ExitReason.EXIT_REASON_SIGNALED, signal: "SIGKILL" });
    expect(exitedOf(events).exitCode).toBeUndefined();
  });

  it("refuses a program that does not exist with NOT_FOUND", async () => {
    await expect(collectExec(agent.exec, { argv: ["no-such-program-xyz"] })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details:
        'Cannot start "no-such-program-xyz": no such program in PATH. Check the name, or run it through a shell command.',
    });
  });

  it("refuses a missing working directory with NOT_FOUND", async () => {
    await expect(collectExec(agent.exec, { argv: ["true"], cwd: "/no/such/dir" })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'Cannot use working directory "/no/such/dir": no such file or directory',
    });
  });

  it("refuses a request with both or neither of argv and shell", async () => {
    const message = "Set exactly one of argv (a program and its arguments) or shell (a command string).";
    await expect(collectExec(agent.exec, {})).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: message,
    });
    await expect(collectExec(agent.exec, { argv: ["true"], shell: "true" })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: message,
    });
  });

  it("keeps the process running when the caller cancels the stream, and replays its output to a new reader", async () => {
    const marker = `${agent.workDir}/kept-${Date.now()}`;
    const call = agent.exec.exec(
      execStartRequest({ shell: `echo ready; sleep 0.5; touch ${marker}; echo done` }),
      authMetadata(),
    );
    const follower = followExec(call);
    const started = await follower.next((event) => event.$case === "started");
    await follower.next((event) => event.$case === "output");
    follower.cancel();
    expect((await follower.ended)?.code).toBe(status.CANCELLED);
    const execId = started.$case === "started" ? started.value.execId : "";
    const replay = followExec(agent.exec.attach({ execId, cursor: 0, keepaliveMs: 0 }, authMetadata()));
    expect(await replay.ended).toBeUndefined();
    expect(replay.output().toString()).toBe("ready\ndone\n");
    expect(replay.events.at(-1)).toMatchObject({
      $case: "exited",
      value: { reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 },
    });
    expect(existsSync(marker)).toBe(true);
  });

  it("runs as another user given by name, uid or uid:gid, with that user's HOME", async () => {
    const byName = await collectExec(agent.exec, {
      shell: 'id -u; id -g; id -G; echo "$HOME $USER"',
      user: "nobody",
      cwd: "/",
    });
    expect(outputOf(byName, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("65534\n65534\n65534\n/nonexistent nobody\n");
    const byIds = await collectExec(agent.exec, { shell: "id -u; id -g", user: "4321:4322", cwd: "/" });
    expect(outputOf(byIds, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("4321\n4322\n");
    const byUid = await collectExec(agent.exec, { shell: "id -un; id -g", user: "65534", cwd: "/" });
    expect(outputOf(byUid, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("nobody\n65534\n");
  });

  it("refuses unknown users and groups with NOT_FOUND, and malformed ones with INVALID_ARGUMENT", async () => {
    await expect(collectExec(agent.exec, { argv: ["true"], user: "no-such-user" })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details:
        'User "no-such-user" not found in /etc/passwd of this runner; pass a numeric uid, or create the user first (useradd no-such-user).',
    });
    await expect(collectExec(agent.exec, { argv: ["true"], user: "nobody:no-such-group" })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details:
        'Group "no-such-group" not found in /etc/group of this runner; pass a numeric gid, or create the group first (groupadd no-such-group).',
    });
    await expect(collectExec(agent.exec, { argv: ["true"], user: ":1000" })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        'User ":1000" is not valid; use a name or uid (up to 4294967294), optionally with a group: "app", "1000" or "1000:1000".',
    });
  });

  it("refuses a program the user may not run with PERMISSION_DENIED", async () => {
    // The harness's work directory is private to root (mkdtemp makes it 0700), so nobody cannot reach into it.
    const script = `${agent.workDir}/private.sh`;
    await writeFile(script, "#!/bin/sh\necho hi\n", { mode: 0o755 });
    await expect(collectExec(agent.exec, { argv: [script], user: "nobody", cwd: "/" })).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: `Cannot start "${script}" in "/": permission denied. Check that the program is executable and that the user may enter the directory.`,
    });
  });
});
