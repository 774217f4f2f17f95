import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY } from "@devhatchery/proto/contract";
import { ExecServiceClient, ExitReason, OutputStream, type ExecEvent } from "@devhatchery/proto/agent/v1/exec";
import { FileType, FsServiceClient, type FileInfo, type ReadChunk } from "@devhatchery/proto/agent/v1/fs";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@devhatchery/proto/health/v1";
import { fromGrpcError } from "./grpc-errors.js";

/** Largest message either side may send; matches the agent. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface AgentExecRequest {
  argv: string[];
  shell: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
}

export type AgentExecEvent =
  | { type: "started"; execId: string; pid: number }
  | { type: "output"; stream: "stdout" | "stderr"; seq: number; data: Buffer }
  | { type: "exited"; reason: "exited" | "signaled" | "timed_out"; exitCode: number | undefined; signal: string | undefined; durationMs: number };

export interface AgentFileInfo {
  path: string;
  name: string;
  type: "file" | "directory" | "symlink" | "other";
  size: number;
  mode: number;
  mtimeMs: number;
}

const FILE_TYPE: Record<number, AgentFileInfo["type"]> = {
  [FileType.FILE_TYPE_FILE]: "file",
  [FileType.FILE_TYPE_DIRECTORY]: "directory",
  [FileType.FILE_TYPE_SYMLINK]: "symlink",
};

const EXIT_REASON: Record<number, "exited" | "signaled" | "timed_out"> = {
  [ExitReason.EXIT_REASON_SIGNALED]: "signaled",
  [ExitReason.EXIT_REASON_TIMED_OUT]: "timed_out",
};

function toFileInfo(info: FileInfo | undefined): AgentFileInfo {
  return {
    path: info?.path ?? "",
    name: info?.name ?? "",
    type: FILE_TYPE[info?.type ?? 0] ?? "other",
    size: info?.size ?? 0,
    mode: info?.mode ?? 0,
    mtimeMs: info?.mtimeMs ?? 0,
  };
}

function toExecEvent(event: ExecEvent["event"]): AgentExecEvent | undefined {
  switch (event?.$case) {
    case "started":
      return { type: "started", execId: event.value.execId, pid: event.value.pid };
    case "output":
      return {
        type: "output",
        stream: event.value.stream === OutputStream.OUTPUT_STREAM_STDERR ? "stderr" : "stdout",
        seq: event.value.seq,
        data: Buffer.from(event.value.data),
      };
    case "exited":
      return {
        type: "exited",
        reason: EXIT_REASON[event.value.reason] ?? "exited",
        exitCode: event.value.exitCode,
        signal: event.value.signal || undefined,
        durationMs: event.value.durationMs,
      };
    default:
      return undefined;
  }
}

/** One runner's agent over gRPC: proto types stay in here, callers get plain domain values and ControlPlaneErrors. */
export class AgentClient {
  private readonly exec: ExecServiceClient;
  private readonly fs: FsServiceClient;
  private readonly health: HealthClient;

  constructor(
    readonly runnerId: string,
    address: string,
    private readonly token: string,
  ) {
    const options = {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      // A runner's agent starts within a few hundred milliseconds: retry connecting quickly, not after grpc's 1 s default.
      "grpc.initial_reconnect_backoff_ms": 20,
      "grpc.max_reconnect_backoff_ms": 1_000,
    };
    const creds = credentials.createInsecure();
    this.exec = new ExecServiceClient(address, creds, options);
    this.fs = new FsServiceClient(address, creds, options);
    this.health = new HealthClient(address, creds, options);
  }

  /** True when the agent answers its health check as SERVING within `timeoutMs`. */
  isServing(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const metadata = this.metadata();
      // Wait for the connection (within the deadline) instead of failing at once while the agent is still starting.
      metadata.setOptions({ waitForReady: true });
      this.health.check({ service: "" }, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
        resolve(!error && response.status === HealthCheckResponse_ServingStatus.SERVING);
      });
    });
  }

  /** Runs a process, calling `onEvent` for every event; resolves with the exited event. Aborting the signal cancels the call (the agent then ends the process). */
  runExec(
    request: AgentExecRequest,
    onEvent: (event: AgentExecEvent) => void,
    signal?: AbortSignal,
  ): Promise<Extract<AgentExecEvent, { type: "exited" }>> {
    return new Promise((resolve, reject) => {
      const call = this.exec.exec(request, this.metadata());
      let exited: Extract<AgentExecEvent, { type: "exited" }> | undefined;
      const onAbort = (): void => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      call.on("data", (message: ExecEvent) => {
        const event = toExecEvent(message.event);
        if (!event) return;
        if (event.type === "exited") exited = event;
        onEvent(event);
      });
      call.on("error", (error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(fromGrpcError(error, this.runnerId));
      });
      call.on("end", () => {
        signal?.removeEventListener("abort", onAbort);
        if (exited) resolve(exited);
        else reject(fromGrpcError({ code: 14, details: "the exec stream ended without an exit event" }, this.runnerId));
      });
    });
  }

  /** Reads up to `length` bytes (0 = to the end) from `offset`. */
  async readFile(path: string, offset: number, length: number): Promise<{ info: AgentFileInfo; data: Buffer }> {
    const call: ClientReadableStream<ReadChunk> = this.fs.read({ path, offset, length }, this.metadata());
    const chunks: Buffer[] = [];
    let info: AgentFileInfo | undefined;
    try {
      for await (const chunk of call as AsyncIterable<ReadChunk>) {
        if (chunk.info) info = toFileInfo(chunk.info);
        chunks.push(Buffer.from(chunk.data));
      }
    } catch (error) {
      throw fromGrpcError(error, this.runnerId);
    }
    return { info: info ?? toFileInfo(undefined), data: Buffer.concat(chunks) };
  }

  writeFile(path: string, data: Buffer, options: { createParents: boolean; mode: number }): Promise<AgentFileInfo> {
    return new Promise((resolve, reject) => {
      this.fs.write({ path, data, createParents: options.createParents, mode: options.mode }, this.metadata(), (error, response) =>
        error ? reject(fromGrpcError(error, this.runnerId)) : resolve(toFileInfo(response.info)),
      );
    });
  }

  listDirectory(path: string, limit: number): Promise<{ directory: AgentFileInfo; entries: AgentFileInfo[]; truncated: boolean }> {
    return new Promise((resolve, reject) => {
      this.fs.list({ path, limit }, this.metadata(), (error, response) =>
        error
          ? reject(fromGrpcError(error, this.runnerId))
          : resolve({ directory: toFileInfo(response.directory), entries: response.entries.map(toFileInfo), truncated: response.truncated }),
      );
    });
  }

  close(): void {
    this.exec.close();
    this.fs.close();
    this.health.close();
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(AGENT_AUTH_METADATA_KEY, `Bearer ${this.token}`);
    return metadata;
  }
}
