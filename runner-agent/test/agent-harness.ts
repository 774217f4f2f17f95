import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY } from "@devhatchery/proto/contract";
import { ExecServiceClient, type ExecEvent, type ExecRequest } from "@devhatchery/proto/agent/v1/exec";
import { FsServiceClient, type ReadChunk, type ReadRequest } from "@devhatchery/proto/agent/v1/fs";
import { HealthClient } from "@devhatchery/proto/health/v1";
import { createLogger } from "../src/log.js";
import { startAgentServer, type AgentServer } from "../src/server.js";

export const TEST_TOKEN = "test-token-0123456789abcdef0123456789abcdef";

/** A real agent gRPC server on an ephemeral loopback port, with a temporary work directory and clients. */
export interface AgentHarness {
  server: AgentServer;
  workDir: string;
  exec: ExecServiceClient;
  fs: FsServiceClient;
  health: HealthClient;
  close(): Promise<void>;
}

export function authMetadata(token = TEST_TOKEN): Metadata {
  const metadata = new Metadata();
  metadata.set(AGENT_AUTH_METADATA_KEY, `Bearer ${token}`);
  return metadata;
}

export async function startAgentHarness(): Promise<AgentHarness> {
  const workDir = await mkdtemp(join(tmpdir(), "devhatchery-agent-"));
  const server = await startAgentServer({ token: TEST_TOKEN, host: "127.0.0.1", port: 0, debugPort: 0, workDir, log: createLogger("silent") });
  const address = `127.0.0.1:${server.port}`;
  const exec = new ExecServiceClient(address, credentials.createInsecure());
  const fs = new FsServiceClient(address, credentials.createInsecure());
  const health = new HealthClient(address, credentials.createInsecure());
  return {
    server,
    workDir,
    exec,
    fs,
    health,
    async close() {
      exec.close();
      fs.close();
      health.close();
      await server.shutdown();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Runs an exec to completion and returns every event, or rejects with the gRPC error. */
export function collectExec(client: ExecServiceClient, request: Partial<ExecRequest>, metadata = authMetadata()): Promise<ExecEvent["event"][]> {
  const full: ExecRequest = { argv: [], shell: "", cwd: "", env: {}, timeoutMs: 0, ...request };
  return new Promise((resolve, reject) => {
    const events: ExecEvent["event"][] = [];
    const call = client.exec(full, metadata);
    call.on("data", (event: ExecEvent) => events.push(event.event));
    call.on("error", reject);
    call.on("end", () => resolve(events));
  });
}

/** Reads a whole file through the streaming Read RPC. */
export async function readAll(client: FsServiceClient, request: Partial<ReadRequest>, metadata = authMetadata()): Promise<{ chunks: ReadChunk[]; data: Buffer }> {
  const chunks: ReadChunk[] = [];
  for await (const chunk of client.read({ path: "", offset: 0, length: 0, ...request }, metadata) as AsyncIterable<ReadChunk>) chunks.push(chunk);
  return { chunks, data: Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.data))) };
}

export function isServiceError(error: unknown): error is ServiceError {
  return typeof (error as ServiceError | undefined)?.code === "number";
}
