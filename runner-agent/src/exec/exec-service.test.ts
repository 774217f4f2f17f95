import { existsSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitReason, OutputStream, type ExecEvent } from "@devhatchery/proto/agent/v1/exec";
import { authMetadata, collectExec, startAgentHarness, type AgentHarness } from "../../test/agent-harness.js";

type Event = NonNullable<ExecEvent["event"]>;

function outputOf(events: ExecEvent["event"][], stream: OutputStream): string {
  return events
    .filter((event): event is Extract<Event, { $case: "output" }> => event?.$case === "output" && event.value.stream === stream)
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

  it("streams started, output with increasing sequence numbers, then exited with the exit code", async () => {
    const events = await collectExec(agent.exec, { shell: "echo one; echo two >&2; exit 7" });
    expect(events[0]?.$case).toBe("started");
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDOUT)).toBe("one\n");
    expect(outputOf(events, OutputStream.OUTPUT_STREAM_STDERR)).toBe("two\n");
    const seqs = events.flatMap((event) => (event?.$case === "output" ? [event.value.seq] : []));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs[0]).toBe(1);
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
    const bytes = Buffer.concat(events.flatMap((event) => (event?.$case === "output" ? [Buffer.from(event.value.data)] : [])));
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
      details: 'Cannot start "no-such-program-xyz": no such program in PATH. Check the name, or run it through a shell command.',
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
    await expect(collectExec(agent.exec, {})).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: message });
    await expect(collectExec(agent.exec, { argv: ["true"], shell: "true" })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: message });
  });

  it("ends the process group when the caller cancels the stream", async () => {
    const marker = `${agent.workDir}/cancelled-${Date.now()}`;
    const script = `trap 'touch ${marker}; exit 0' TERM; echo ready; sleep 30 & wait`;
    const call = agent.exec.exec({ argv: [], shell: script, cwd: "", env: {}, timeoutMs: 0 }, authMetadata());
    call.on("error", () => undefined);
    // Cancel only once the trap is installed, or the shell could die before it can leave the marker.
    await new Promise<void>((resolve) => call.on("data", (event: ExecEvent) => event.event?.$case === "output" && resolve()));
    call.cancel();
    await expect.poll(() => existsSync(marker), { timeout: 5_000 }).toBe(true);
  });
});
