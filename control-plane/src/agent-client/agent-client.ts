import { credentials, makeGenericClientConstructor, Metadata, status, type ClientReadableStream, type ClientWritableStream } from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY, AGENT_CORRELATION_METADATA_KEY } from "@devhatchery/proto/contract";
import { ExecServiceClient, ExitReason, OutputStream, type ExecEvent } from "@devhatchery/proto/agent/v1/exec";
import { FileType, FsServiceService, type FileInfo, type FsServiceClient, type ReadChunk, type WriteRequest } from "@devhatchery/proto/agent/v1/fs";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@devhatchery/proto/health/v1";
import { WatchServiceClient } from "@devhatchery/proto/agent/v1/watch";
import { currentRequestContext } from "../request-context.js";
import type { Logger } from "../log.js";
import { createAgentCallInterceptor } from "./agent-call-tracing.js";
import { ByteCollector } from "./byte-collector.js";
import { encodeBytesField, soleBytesField } from "@devhatchery/proto/bytes-field";
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

/** Why a process ended: on its own, by a signal, by its timeout, after an interrupt, or by the OOM killer. */
export type AgentExitReason = "exited" | "signaled" | "timed_out" | "interrupted" | "oom_killed";

export type AgentExecEvent =
  | { type: "started"; execId: string; pid: number }
  | { type: "output"; stream: "stdout" | "stderr"; seq: number; data: Buffer }
  /** The agent's output cap dropped these bytes before this reader got them. */
  | { type: "dropped"; bytes: number }
  | { type: "exited"; reason: AgentExitReason; exitCode: number | undefined; signal: string | undefined; durationMs: number };

export interface AgentFileInfo {
  path: string;
  name: string;
  type: "file" | "directory" | "symlink" | "other";
  size: number;
  mode: number;
  mtimeMs: number;
  /** Identifies this version of the file (same from read, write, list and stat); pass it back as `ifMatch`. */
  etag: string;
  /** Where a symlink points; empty for anything else. */
  linkTarget: string;
}

/** Bytes per data message of a streamed write (128 KiB to 1 MiB measured the same). */
const WRITE_CHUNK_BYTES = 256 * 1024;

/**
 * HTTP/2 receive window (per stream and per connection) for what the agent sends, e.g. Read: Node's 64 KiB default
 * holds a download to one window per round trip. The agent sets the same for what it receives.
 */
const RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;

/** Field number of `data` in both ReadChunk and WriteRequest. */
const DATA_FIELD = 2;

/**
 * The generated FsService client, except that the bulk messages (a WriteRequest of data, a ReadChunk of data alone)
 * skip the generated codecs, which copy the bytes several times; the agent codes them the same way.
 */
const FsTransferClient = makeGenericClientConstructor(
  {
    ...FsServiceService,
    read: {
      ...FsServiceService.read,
      responseDeserialize: (bytes: Buffer): ReadChunk => {
        const data = soleBytesField(bytes, DATA_FIELD);
        return data ? { info: undefined, data } : FsServiceService.read.responseDeserialize(bytes);
      },
    },
    write: {
      ...FsServiceService.write,
      requestSerialize: (request: WriteRequest): Buffer =>
        request.message?.$case === "data" && request.message.value.length > 0
          ? encodeBytesField(DATA_FIELD, request.message.value)
          : FsServiceService.write.requestSerialize(request),
    },
  },
  "devhatchery.agent.v1.FsService",
) as unknown as typeof FsServiceClient;

/** Proto file type → the domain's name for it. */
export const FILE_TYPE: Record<number, AgentFileInfo["type"]> = {
  [FileType.FILE_TYPE_FILE]: "file",
  [FileType.FILE_TYPE_DIRECTORY]: "directory",
  [FileType.FILE_TYPE_SYMLINK]: "symlink",
};

const EXIT_REASON: Record<number, AgentExitReason> = {
  [ExitReason.EXIT_REASON_SIGNALED]: "signaled",
  [ExitReason.EXIT_REASON_TIMED_OUT]: "timed_out",
  [ExitReason.EXIT_REASON_INTERRUPTED]: "interrupted",
  [ExitReason.EXIT_REASON_OOM_KILLED]: "oom_killed",
};

/** A proto FileInfo as the domain sees it. */
export function toFileInfo(info: FileInfo | undefined): AgentFileInfo {
  return {
    path: info?.path ?? "",
    name: info?.name ?? "",
    type: FILE_TYPE[info?.type ?? 0] ?? "other",
    size: info?.size ?? 0,
    mode: info?.mode ?? 0,
    mtimeMs: info?.mtimeMs ?? 0,
    etag: info?.etag ?? "",
    linkTarget: info?.linkTarget ?? "",
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
    case "dropped":
      return { type: "dropped", bytes: event.value.bytes };
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

/** The generated gRPC clients of one agent; only modules in agent-client/ use them (lint enforces it). */
export interface AgentGrpcClients {
  readonly exec: ExecServiceClient;
  readonly fs: FsServiceClient;
  readonly watch: WatchServiceClient;
  readonly health: HealthClient;
}

/**
 * One runner's agent over gRPC: proto types stay in agent-client/, callers get plain domain values and
 * ControlPlaneErrors. Calls beyond the core ones live in sibling modules (`*-calls.ts`) built on `grpc` and
 * `callMetadata()`.
 */
export class AgentClient {
  readonly grpc: AgentGrpcClients;
  private readonly exec: ExecServiceClient;
  private readonly fs: FsServiceClient;
  private readonly health: HealthClient;

  constructor(
    readonly runnerId: string,
    address: string,
    private readonly token: string,
    /** Where failed calls' transport details go (they are not shown to clients). */
    log?: Logger,
  ) {
    const options = {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      // A runner's agent starts within a few hundred milliseconds: retry connecting quickly, not after grpc's 1 s default.
      "grpc.initial_reconnect_backoff_ms": 20,
      "grpc.max_reconnect_backoff_ms": 1_000,
      "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
    };
    // A fresh object per client: grpc-js takes `interceptors` out of the options it is given.
    const interceptor = createAgentCallInterceptor(runnerId, log);
    const clientOptions = () => ({ ...options, interceptors: [interceptor] });
    const creds = credentials.createInsecure();
    this.exec = new ExecServiceClient(address, creds, clientOptions());
    this.fs = new FsTransferClient(address, creds, clientOptions());
    this.health = new HealthClient(address, creds, clientOptions());
    this.grpc = { exec: this.exec, fs: this.fs, watch: new WatchServiceClient(address, creds, clientOptions()), health: this.health };
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

  /**
   * Runs a process and follows it, calling `onEvent` for every event; resolves with the exited event. Aborting the
   * signal interrupts the process in the agent (SIGINT, then SIGTERM, then SIGKILL) and rejects with CANCELLED: the
   * stream alone going away would leave it running, since the agent keeps processes independent of their readers.
   */
  runExec(
    request: AgentExecRequest,
    onEvent: (event: AgentExecEvent) => void,
    signal?: AbortSignal,
  ): Promise<Extract<AgentExecEvent, { type: "exited" }>> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(fromGrpcError({ code: status.CANCELLED, details: "cancelled before start" }, this.runnerId));
      const call = this.exec.exec({ ...request, user: "", stdin: Buffer.alloc(0), stdinOpen: false, pty: undefined, killGraceMs: 0 }, this.metadata());
      let exited: Extract<AgentExecEvent, { type: "exited" }> | undefined;
      let execId: string | undefined;
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        outcome();
      };
      const stop = (id: string): void => {
        this.interruptExec(id).catch(() => undefined);
        call.cancel();
        settle(() => reject(fromGrpcError({ code: status.CANCELLED, details: "cancelled" }, this.runnerId)));
      };
      // Before `started` arrives there is no id to interrupt yet; the started handler does it then.
      const onAbort = (): void => (execId ? stop(execId) : undefined);
      signal?.addEventListener("abort", onAbort, { once: true });
      call.on("data", (message: ExecEvent) => {
        const event = toExecEvent(message.event);
        if (!event || settled) return;
        if (event.type === "started") {
          execId = event.execId;
          if (signal?.aborted) return stop(execId);
        }
        if (event.type === "exited") exited = event;
        onEvent(event);
      });
      call.on("error", (error) => settle(() => reject(fromGrpcError(error, this.runnerId))));
      call.on("end", () =>
        settle(() =>
          exited ? resolve(exited) : reject(fromGrpcError({ code: status.UNAVAILABLE, details: "the exec stream ended without an exit event" }, this.runnerId)),
        ),
      );
    });
  }

  /** Interrupts a process: SIGINT to its group, then SIGTERM and SIGKILL `graceMs` apart (0: the agent's default). */
  interruptExec(execId: string, graceMs = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.exec.interrupt({ execId, graceMs }, this.metadata(), (error) => (error ? reject(fromGrpcError(error, this.runnerId)) : resolve()));
    });
  }

  /** Reads up to `length` bytes (0 = to the end) from `offset`; with `ifMatch`, only from that version of the file. */
  async readFile(path: string, offset: number, length: number, ifMatch = ""): Promise<{ info: AgentFileInfo; data: Buffer }> {
    const call: ClientReadableStream<ReadChunk> = this.fs.read({ path, offset, length, ifMatch }, this.metadata());
    const data = new ByteCollector();
    let info: AgentFileInfo | undefined;
    try {
      for await (const chunk of call as AsyncIterable<ReadChunk>) {
        if (chunk.info) {
          info = toFileInfo(chunk.info);
          const available = Math.max(0, info.size - offset);
          data.expect(length > 0 ? Math.min(length, available) : available);
        }
        data.push(chunk.data);
      }
    } catch (error) {
      throw fromGrpcError(error, this.runnerId);
    }
    return { info: info ?? toFileInfo(undefined), data: data.result() };
  }

  /**
   * Replaces a file atomically through the streamed Write RPC; with `ifMatch` (an etag), only if the file is still
   * that version (FAILED_PRECONDITION otherwise). `mode` 0 keeps an existing file's mode, else 0644.
   */
  writeFile(path: string, data: Buffer, options: { createParents: boolean; mode: number; ifMatch?: string }): Promise<AgentFileInfo> {
    return new Promise((resolve, reject) => {
      const call: ClientWritableStream<WriteRequest> = this.fs.write(this.metadata(), (error, response) =>
        error ? reject(fromGrpcError(error, this.runnerId)) : resolve(toFileInfo(response.info)),
      );
      const header = { path, createParents: options.createParents, mode: options.mode, ifMatch: options.ifMatch ?? "" };
      let offset = 0;
      const sendData = (): void => {
        while (offset < data.length) {
          const chunk = data.subarray(offset, offset + WRITE_CHUNK_BYTES);
          offset += chunk.length;
          if (!call.write({ message: { $case: "data", value: chunk } })) {
            call.once("drain", sendData);
            return;
          }
        }
        call.end();
      };
      call.write({ message: { $case: "header", value: header } });
      sendData();
    });
  }

  /** Lists a directory breadth first down to `depth` levels (0 or 1 = its own entries), at most `limit` entries. */
  listDirectory(path: string, limit: number, depth = 1): Promise<{ directory: AgentFileInfo; entries: AgentFileInfo[]; truncated: boolean }> {
    return new Promise((resolve, reject) => {
      this.fs.list({ path, limit, depth }, this.metadata(), (error, response) =>
        error
          ? reject(fromGrpcError(error, this.runnerId))
          : resolve({ directory: toFileInfo(response.directory), entries: response.entries.map(toFileInfo), truncated: response.truncated }),
      );
    });
  }

  close(): void {
    this.exec.close();
    this.fs.close();
    this.grpc.watch.close();
    this.health.close();
  }

  /** Metadata carrying the runner's token and the current request's correlation id, for every call to this agent. */
  callMetadata(): Metadata {
    return this.metadata();
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(AGENT_AUTH_METADATA_KEY, `Bearer ${this.token}`);
    const correlationId = currentRequestContext()?.correlationId;
    if (correlationId) metadata.set(AGENT_CORRELATION_METADATA_KEY, correlationId);
    return metadata;
  }
}
