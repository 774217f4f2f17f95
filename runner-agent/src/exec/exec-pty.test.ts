import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitReason, OutputStream, type ExecStartRequest } from "@devhatchery/proto/agent/v1/exec";
import {
  authMetadata,
  collectExec,
  execStartRequest,
  followExec,
  startExecAgent,
  unaryCall,
  type ExecAgent,
  type ExecFollower,
} from "../../test/agent-harness.js";

describe("ExecService on a pseudo-terminal", () => {
  let agent: ExecAgent;
  const followers: ExecFollower[] = [];

  beforeAll(async () => {
    agent = await startExecAgent();
  });
  afterAll(async () => {
    for (const follower of followers) follower.cancel();
    await agent.close();
  });

  async function run(request: Partial<ExecStartRequest>): Promise<{ id: string; follower: ExecFollower }> {
    const follower = followExec(agent.exec.exec(execStartRequest(request), authMetadata()));
    followers.push(follower);
    const started = await follower.next((event) => event.$case === "started");
    return { id: started.$case === "started" ? started.value.execId : "", follower };
  }

  async function waitForOutput(follower: ExecFollower, text: string): Promise<void> {
    while (!follower.output().toString().includes(text))
      await follower.next((event) => event.$case === "output" || event.$case === "exited");
  }

  const writeStdin = (execId: string, data: string, close = false) =>
    unaryCall((metadata, callback) =>
      agent.exec.writeStdin({ execId, data: Buffer.from(data), close }, metadata, callback),
    );
  const resize = (execId: string, rows: number, cols: number) =>
    unaryCall((metadata, callback) => agent.exec.resize({ execId, size: { rows, cols } }, metadata, callback));

  it("runs the program on a terminal of the requested size, stdout and stderr merged", async () => {
    const events = await collectExec(agent.exec, {
      shell: "stty size; tty; echo to-stderr >&2; echo $TERM",
      pty: { rows: 30, cols: 100 },
    });
    const stdout = Buffer.concat(
      events.flatMap((event) =>
        event?.$case === "output" && event.value.stream === OutputStream.OUTPUT_STREAM_STDOUT
          ? [Buffer.from(event.value.data)]
          : [],
      ),
    );
    expect(stdout.toString()).toMatch(/^30 100\r\n\/dev\/pts\/\d+\r\nto-stderr\r\nxterm-256color\r\n$/);
    expect(
      events.some((event) => event?.$case === "output" && event.value.stream === OutputStream.OUTPUT_STREAM_STDERR),
    ).toBe(false);
    expect(events.at(-1)).toMatchObject({
      $case: "exited",
      value: { reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 },
    });
  });

  it("resizes the terminal while the program runs", async () => {
    const { id, follower } = await run({ shell: "stty size; read line; stty size", pty: { rows: 24, cols: 80 } });
    await waitForOutput(follower, "24 80\r\n");
    await resize(id, 50, 132);
    await writeStdin(id, "go\n");
    await follower.ended;
    expect(follower.output().toString()).toBe("24 80\r\ngo\r\n50 132\r\n");
  });

  it("echoes typed input like a terminal, and closing stdin sends end of file", async () => {
    const { id, follower } = await run({ shell: "read x; echo got $x; cat; echo end", pty: { rows: 24, cols: 80 } });
    await writeStdin(id, "hi\n");
    await waitForOutput(follower, "got hi\r\n");
    await writeStdin(id, "", true);
    await follower.ended;
    expect(follower.output().toString()).toBe("hi\r\ngot hi\r\nend\r\n");
    expect(follower.events.at(-1)).toMatchObject({ $case: "exited", value: { exitCode: 0 } });
  });

  it("keeps stdin open without stdin_open (a terminal has no end of file) and stops on interrupt like Ctrl-C", async () => {
    const { id, follower } = await run({ shell: "echo ready; cat", pty: { rows: 0, cols: 0 } });
    await waitForOutput(follower, "ready");
    await unaryCall((metadata, callback) => agent.exec.interrupt({ execId: id, graceMs: 0 }, metadata, callback));
    await follower.ended;
    expect(follower.events.at(-1)).toMatchObject({
      $case: "exited",
      value: { reason: ExitReason.EXIT_REASON_INTERRUPTED, signal: "SIGINT" },
    });
  });

  it("runs as another user on a terminal with no supplementary groups", async () => {
    const events = await collectExec(agent.exec, {
      shell: "id -u; id -G; stty size",
      user: "nobody",
      cwd: "/",
      pty: { rows: 0, cols: 0 },
    });
    const output = Buffer.concat(
      events.flatMap((event) => (event?.$case === "output" ? [Buffer.from(event.value.data)] : [])),
    ).toString();
    expect(output).toBe("65534\r\n65534\r\n24 80\r\n");
  });

  it("refuses a missing program with NOT_FOUND, as without a terminal", async () => {
    await expect(
      collectExec(agent.exec, { argv: ["no-such-program-xyz"], pty: { rows: 24, cols: 80 } }),
    ).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details:
        'Cannot start "no-such-program-xyz": no such program in PATH. Check the name, or run it through a shell command.',
    });
  });

  it("refuses to resize a process without a terminal, or to a size of zero", async () => {
    const { id } = await run({ shell: "sleep 30" });
    await expect(resize(id, 0, 80)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "Set size with rows and cols of at least 1, e.g. rows 24, cols 80.",
    });
    await expect(resize(id, 24, 80)).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `Exec "${id}" has no terminal to resize; start it with pty set.`,
    });
    await unaryCall((metadata, callback) => agent.exec.signal({ execId: id, signal: "KILL" }, metadata, callback));
  });
});
