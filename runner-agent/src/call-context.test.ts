import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { credentials } from "@grpc/grpc-js";
import { AGENT_CORRELATION_METADATA_KEY } from "@devhatchery/proto/contract";
import { ExecServiceClient } from "@devhatchery/proto/agent/v1/exec";
import { FsServiceClient } from "@devhatchery/proto/agent/v1/fs";
import { WatchServiceClient } from "@devhatchery/proto/agent/v1/watch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authMetadata,
  closeWatch,
  collectExec,
  startWatch,
  TEST_TOKEN,
  unaryCall,
  writeStreamed,
} from "../test/agent-harness.js";
import { createLogger } from "./log.js";
import { startAgentServer, type AgentServer } from "./server.js";

interface LogLine {
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

function withCorrelation(correlationId: string) {
  const metadata = authMetadata(TEST_TOKEN);
  metadata.set(AGENT_CORRELATION_METADATA_KEY, correlationId);
  return metadata;
}

describe("correlation ids in the agent's log", () => {
  let server: AgentServer;
  let workDir: string;
  let exec: ExecServiceClient;
  let fs: FsServiceClient;
  let watch: WatchServiceClient;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "devhatchery-agent-correlation-"));
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString()
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as LogLine),
      ),
    );
    server = await startAgentServer({
      token: TEST_TOKEN,
      host: "127.0.0.1",
      port: 0,
      workDir,
      log: createLogger("info", sink),
    });
    const address = `127.0.0.1:${server.port}`;
    exec = new ExecServiceClient(address, credentials.createInsecure());
    fs = new FsServiceClient(address, credentials.createInsecure());
    watch = new WatchServiceClient(address, credentials.createInsecure());
  });

  afterAll(async () => {
    for (const client of [exec, fs, watch]) client?.close();
    await server?.shutdown();
    await rm(workDir, { recursive: true, force: true });
  });

  const linesOf = (requestId: string) => lines.filter((line) => line.requestId === requestId).map((line) => line.msg);

  it("tags an exec's start and end with the call's correlation id", async () => {
    await collectExec(exec, { argv: ["sh", "-c", "exit 3"] }, withCorrelation("req-exec-1"));
    await expect.poll(() => linesOf("req-exec-1")).toEqual(["process started", "process ended"]);
  });

  it("tags file writes, moves, directories and removals", async () => {
    const metadata = withCorrelation("req-fs-1");
    await writeStreamed(fs, { path: join(workDir, "a.txt") }, Buffer.from("hello"), { metadata });
    await unaryCall((m, done) => fs.mkdir({ path: join(workDir, "d"), parents: false, mode: 0 }, m, done), metadata);
    await unaryCall(
      (m, done) =>
        fs.move(
          {
            source: join(workDir, "a.txt"),
            destination: join(workDir, "d/a.txt"),
            overwrite: false,
            createParents: false,
          },
          m,
          done,
        ),
      metadata,
    );
    await unaryCall((m, done) => fs.remove({ path: join(workDir, "d"), recursive: true }, m, done), metadata);
    expect(linesOf("req-fs-1")).toEqual(["file written", "directory made", "path moved", "path removed"]);
    expect(lines.find((line) => line.msg === "file written")).toMatchObject({ path: join(workDir, "a.txt"), bytes: 5 });
  });

  it("tags the start of a watch", async () => {
    const info = await startWatch(watch, { path: workDir }, withCorrelation("req-watch-1"));
    await closeWatch(watch, info.watchId);
    expect(linesOf("req-watch-1")).toContain("watch started");
  });

  it("ignores an unsafe correlation id and logs calls without one untagged", async () => {
    await collectExec(exec, { argv: ["true"] }, withCorrelation(`${"x".repeat(65)} with spaces`));
    await collectExec(exec, { argv: ["true"] });
    await expect.poll(() => lines.filter((line) => line.msg === "process ended").length).toBe(3);
    expect(
      lines
        .filter((line) => line.msg.startsWith("process"))
        .slice(2)
        .map((line) => line.requestId),
    ).toEqual([undefined, undefined, undefined, undefined]);
  });
});
