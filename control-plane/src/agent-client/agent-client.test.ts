import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, startAgentServer } from "@devhatchery/runner-agent";
import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../errors.js";
import { AgentClient } from "./agent-client.js";
import type { ExecEvent, ExecRequest } from "./exec-info.js";
import type { WatchEvent } from "./watch-info.js";

const TOKEN = "agent-client-test-token-0123456789";

/** A real agent server on 127.0.0.1 port 0 with a fresh work directory, and a client of it; disposing stops both. */
interface InProcessAgent extends AsyncDisposable {
  client: AgentClient;
  /** host:port of the agent, for more clients. */
  address: string;
  workDir: string;
}

async function startInProcessAgent(): Promise<InProcessAgent> {
  const workDir = await mkdtemp(join(tmpdir(), "devhatchery-agent-client-"));
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    const server = await startAgentServer({
      token: TOKEN,
      host: "127.0.0.1",
      port: 0,
      workDir,
      log: createLogger("info", discard),
    });
    const address = `127.0.0.1:${server.port}`;
    const client = new AgentClient("r-in-process", address, TOKEN);
    return {
      client,
      address,
      workDir,
      async [Symbol.asyncDispose]() {
        await client[Symbol.asyncDispose]();
        await server.shutdown();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

const shell = (command: string): ExecRequest => ({
  argv: [],
  shell: command,
  cwd: "",
  env: {},
  timeoutMs: 0,
  stdin: Buffer.alloc(0),
  stdinOpen: false,
});

describe("AgentClient against the real agent in-process", () => {
  it("health: says the agent is serving", async () => {
    await using agent = await startInProcessAgent();
    expect(await agent.client.health.isServing(5_000)).toBe(true);
  });

  it("exec: starts a process, streams its output and reports its exit; read and get see the same process", async () => {
    await using agent = await startInProcessAgent();
    const events: ExecEvent[] = [];
    await using stream = agent.client.exec.start(shell("echo out; echo err >&2; exit 3"), (event) =>
      events.push(event),
    );
    const exit = await stream.ended;
    expect(exit).toMatchObject({ reason: "exited", exitCode: 3, signal: null });
    const started = events[0];
    if (started?.type !== "started") throw new Error(`the first event was ${JSON.stringify(started)}, not "started"`);
    const output = events.flatMap((event) =>
      event.type === "output" ? [`${event.stream}:${event.data.toString()}`] : [],
    );
    expect(output.sort()).toEqual(["stderr:err\n", "stdout:out\n"]);
    expect(events.at(-1)).toMatchObject({ type: "exited", exitCode: 3 });

    const page = await agent.client.exec.read(started.execId, 0, 1024, 0);
    expect(page).toMatchObject({
      eof: true,
      droppedBytes: 0,
      exec: { execId: started.execId, state: "exited", exit: { exitCode: 3 } },
    });
    expect(Buffer.concat(page.chunks.map((chunk) => chunk.data)).toString().length).toBe(8);
    expect((await agent.client.exec.list()).map((info) => info.execId)).toEqual([started.execId]);
  });

  it("exec: disposing a stream leaves the process running; interrupt stops it and stdin feeds it", async () => {
    await using agent = await startInProcessAgent();
    let execId = "";
    {
      await using _stream = agent.client.exec.start(
        { ...shell("read line; echo got $line; sleep 60"), stdinOpen: true },
        (event) => {
          if (event.type === "started") execId = event.execId;
        },
      );
      await expect.poll(() => execId).not.toBe("");
    }
    expect(await agent.client.exec.writeStdin(execId, Buffer.from("hi\n"), false)).toBe(3);
    await expect
      .poll(async () =>
        (await agent.client.exec.read(execId, 0, 1024, 0)).chunks.map((chunk) => chunk.data.toString()).join(""),
      )
      .toBe("got hi\n");
    expect(await agent.client.exec.get(execId)).toMatchObject({ state: "running" });
    await agent.client.exec.interrupt(execId, 100);
    await expect.poll(async () => (await agent.client.exec.get(execId)).exit?.reason).toBe("interrupted");
  });

  it("fs: writes, reads, stats, lists, moves and removes; a missing path is NOT_FOUND with the agent's message", async () => {
    await using agent = await startInProcessAgent();
    const { fs } = agent.client;
    const path = join(agent.workDir, "src/notes.txt");
    const written = await fs.write(path, Buffer.from("hello agent\n"), { createParents: true, mode: 0 });
    expect(written).toMatchObject({ path, name: "notes.txt", type: "file", size: 12 });
    const { info, data } = await fs.read(path, 6, 5);
    expect(data.toString()).toBe("agent");
    expect(info.etag).toBe(written.etag);
    expect(await fs.stat(path)).toEqual(written);
    expect(await fs.mkdir(join(agent.workDir, "out"), { parents: false, mode: 0 })).toMatchObject({
      type: "directory",
    });
    const moved = await fs.move(path, join(agent.workDir, "out/notes.txt"), { overwrite: false, createParents: false });
    expect((await fs.list(agent.workDir, 100, 2)).entries.map((entry) => entry.path)).toEqual([
      join(agent.workDir, "out"),
      join(agent.workDir, "src"),
      moved.path,
    ]);
    expect(await fs.remove(moved.path, false)).toMatchObject({ path: moved.path, type: "file" });
    const error = await fs.stat(moved.path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect(error).toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining(moved.path) });
  });

  it("watch: streams a change made after the watch started, reads it by cursor, and closes", async () => {
    await using agent = await startInProcessAgent();
    const { watch } = agent.client;
    const info = await watch.start({
      path: agent.workDir,
      recursive: true,
      ignore: [],
      gitignore: false,
      debounceMs: 10,
    });
    expect(info).toMatchObject({ path: agent.workDir, isDirectory: true, state: "active", cursor: 0 });
    const events: WatchEvent[] = [];
    await using stream = watch.stream(info.watchId, info.cursor, (event) => events.push(event));
    await writeFile(join(agent.workDir, "new.txt"), "x");
    await expect
      .poll(() =>
        events.flatMap((event) => (event.type === "changes" ? event.changes.map((change) => change.path) : [])),
      )
      .toContain("new.txt");
    const read = await watch.read(info.watchId, 0, 0, 10);
    expect(read.events[0]).toMatchObject({
      type: "changes",
      changes: [expect.objectContaining({ kind: "created", path: "new.txt", type: "file" })],
    });
    expect(await watch.close(info.watchId)).toMatchObject({ state: "ended", endReason: "closed" });
    await stream.ended;
  });

  it("token: rotates the runner token; the client goes on with the new one and the old one opens nothing", async () => {
    await using agent = await startInProcessAgent();
    const newToken = "rotated-agent-client-token-0123456789abcdef";
    await agent.client.rotateToken(newToken);
    expect(await agent.client.fs.stat(agent.workDir)).toMatchObject({ path: agent.workDir, type: "directory" });
    await using stale = new AgentClient("r-in-process", agent.address, TOKEN);
    await expect(stale.fs.stat(agent.workDir)).rejects.toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message: `Runner "r-in-process" rejected the control plane's token; remove it and spawn a new one.`,
    });
    await using fresh = new AgentClient("r-in-process", agent.address, newToken);
    expect(await fresh.health.isServing(5_000)).toBe(true);
  });

  it("token: a token shorter than 32 characters is INVALID_ARGUMENT with the agent's message; the old token stays", async () => {
    await using agent = await startInProcessAgent();
    await expect(agent.client.rotateToken("too-short")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message:
        "The new runner token is 9 characters long; a token needs at least 32. " +
        "The current token stays in force; send a longer one (e.g. 32 random bytes as 64 hex characters).",
    });
    expect(await agent.client.fs.stat(agent.workDir)).toMatchObject({ type: "directory" });
  });

  it("tar: streams an archive of a directory out", async () => {
    await using agent = await startInProcessAgent();
    await mkdir(join(agent.workDir, "project"));
    await writeFile(join(agent.workDir, "project/readme.md"), "# archived\n");
    await writeFile(join(agent.workDir, "project/skip.log"), "left out\n");
    const chunks: Buffer[] = [];
    for await (const chunk of agent.client.tar.out({
      path: join(agent.workDir, "project"),
      include: [],
      exclude: ["*.log"],
    }))
      chunks.push(chunk);
    const archive = Buffer.concat(chunks);
    expect(archive.length % 512).toBe(0);
    expect(archive.includes("readme.md")).toBe(true);
    expect(archive.includes("# archived\n")).toBe(true);
    expect(archive.includes("skip.log")).toBe(false);
  });
});
