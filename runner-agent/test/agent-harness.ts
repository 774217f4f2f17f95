import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  credentials,
  Metadata,
  type ClientReadableStream,
  type ClientWritableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY } from "@devhatchery/proto/contract";
import {
  ExecServiceClient,
  type ExecEvent,
  type ExecInfo,
  type ExecStartRequest,
} from "@devhatchery/proto/agent/v1/exec";
import {
  FsServiceClient,
  type ReadChunk,
  type ReadRequest,
  type TarInHeader,
  type TarInRequest,
  type TarInResponse,
  type TarOutChunk,
  type TarOutRequest,
  type WriteHeader,
  type WriteRequest,
  type WriteResponse,
} from "@devhatchery/proto/agent/v1/fs";
import { HealthClient } from "@devhatchery/proto/health/v1";
import { TokenServiceClient } from "@devhatchery/proto/agent/v1/token";
import {
  WatchServiceClient,
  type Change,
  type ChangeKind,
  type ReadChangesRequest,
  type ReadChangesResponse,
  type StartWatchRequest,
  type StreamChangesRequest,
  type WatchEvent,
  type WatchInfo,
} from "@devhatchery/proto/agent/v1/watch";
import type { WatchLimits } from "../src/watch/watch-manager.js";
import type { ExecSettings } from "../src/exec/exec-settings.js";
import { createLogger, type Logger } from "../src/log.js";
import { startAgentServer, type AgentServer } from "../src/server.js";

export const TEST_TOKEN = "test-token-0123456789abcdef0123456789abcdef";

/** A real agent gRPC server on an ephemeral loopback port, with a temporary work directory and clients. */
export interface AgentHarness {
  server: AgentServer;
  workDir: string;
  exec: ExecServiceClient;
  fs: FsServiceClient;
  watch: WatchServiceClient;
  health: HealthClient;
  token: TokenServiceClient;
  close(): Promise<void>;
}

export function authMetadata(token = TEST_TOKEN): Metadata {
  const metadata = new Metadata();
  metadata.set(AGENT_AUTH_METADATA_KEY, `Bearer ${token}`);
  return metadata;
}

/**
 * Starts an agent with its debug endpoint on a free port; `exec` and `watchLimits` override the agent's settings,
 * `log` replaces its silent logger.
 */
export async function startAgentHarness(
  options: { exec?: Partial<ExecSettings>; watchLimits?: Partial<WatchLimits>; log?: Logger } = {},
): Promise<AgentHarness> {
  const workDir = await mkdtemp(join(tmpdir(), "devhatchery-agent-"));
  const server = await startAgentServer({
    token: TEST_TOKEN,
    host: "127.0.0.1",
    port: 0,
    debugPort: 0,
    workDir,
    log: createLogger("silent"),
    ...options,
  });
  const address = `127.0.0.1:${server.port}`;
  const exec = new ExecServiceClient(address, credentials.createInsecure());
  const fs = new FsServiceClient(address, credentials.createInsecure());
  const watch = new WatchServiceClient(address, credentials.createInsecure());
  const health = new HealthClient(address, credentials.createInsecure());
  const token = new TokenServiceClient(address, credentials.createInsecure());
  return {
    server,
    workDir,
    exec,
    fs,
    watch,
    health,
    token,
    async close() {
      for (const client of [exec, fs, watch, health, token]) client.close();
      await server.shutdown();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Runs an exec to completion and returns every event, or rejects with the gRPC error. */
export function collectExec(
  client: ExecServiceClient,
  request: Partial<ExecStartRequest>,
  metadata = authMetadata(),
): Promise<ExecEvent["event"][]> {
  const full = execStartRequest(request);
  return new Promise((resolve, reject) => {
    const events: ExecEvent["event"][] = [];
    const call = client.exec(full, metadata);
    call.on("data", (event: ExecEvent) => events.push(event.event));
    call.on("error", reject);
    call.on("end", () => resolve(events));
  });
}

/** Reads a whole file through the streaming Read RPC. */
export async function readAll(
  client: FsServiceClient,
  request: Partial<ReadRequest>,
  metadata = authMetadata(),
): Promise<{ chunks: ReadChunk[]; data: Buffer }> {
  const chunks: ReadChunk[] = [];
  for await (const chunk of client.read(
    { path: "", offset: 0, length: 0, ifMatch: "", ...request },
    metadata,
  ) as AsyncIterable<ReadChunk>)
    chunks.push(chunk);
  return { chunks, data: Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.data))) };
}

export function isServiceError(error: unknown): error is ServiceError {
  return typeof (error as ServiceError | undefined)?.code === "number";
}

// ---------------------------------------------------------------------------------------------------------------
// Filesystem helpers: unary calls, streamed uploads (Write, TarIn) and the TarOut download.
// ---------------------------------------------------------------------------------------------------------------

/** Runs a unary call: `start(metadata, callback)`; resolves with the response, rejects with the gRPC error. */
export function unaryCall<Response>(
  start: (metadata: Metadata, callback: (error: ServiceError | null, response: Response) => void) => unknown,
  metadata = authMetadata(),
): Promise<Response> {
  return new Promise((resolve, reject) =>
    start(metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

/** Bytes to upload: one buffer (sent in `chunkBytes` pieces) or any sequence of chunks, sent as they come. */
export type UploadData = Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;

async function sendUpload<Message>(
  call: ClientWritableStream<Message>,
  first: Message,
  data: UploadData,
  toMessage: (chunk: Buffer) => Message,
  chunkBytes: number,
): Promise<void> {
  const send = async (message: Message): Promise<void> => {
    if (!call.write(message)) await new Promise((resolve) => call.once("drain", resolve));
  };
  await send(first);
  if (Buffer.isBuffer(data)) {
    for (let offset = 0; offset < data.length; offset += chunkBytes)
      await send(toMessage(data.subarray(offset, offset + chunkBytes)));
  } else {
    for await (const chunk of data) await send(toMessage(chunk));
  }
  call.end();
}

/** Writes a file through the client-streaming Write RPC: the header, then the data in chunks. */
export function writeStreamed(
  client: FsServiceClient,
  header: Partial<WriteHeader> & { path: string },
  data: UploadData,
  options: { metadata?: Metadata; chunkBytes?: number } = {},
): Promise<WriteResponse> {
  return new Promise((resolve, reject) => {
    const call = client.write(options.metadata ?? authMetadata(), (error, response) =>
      error ? reject(error) : resolve(response),
    );
    const value: WriteHeader = { createParents: false, mode: 0, ifMatch: "", ...header };
    sendUpload<WriteRequest>(
      call,
      { message: { $case: "header", value } },
      data,
      (chunk) => ({ message: { $case: "data", value: chunk } }),
      options.chunkBytes ?? 256 * 1024,
    ).catch(reject);
  });
}

/** Extracts an archive through the client-streaming TarIn RPC. */
export function tarInStreamed(
  client: FsServiceClient,
  header: Partial<TarInHeader> & { path: string },
  archive: UploadData,
  metadata = authMetadata(),
): Promise<TarInResponse> {
  return new Promise((resolve, reject) => {
    const call = client.tarIn(metadata, (error, response) => (error ? reject(error) : resolve(response)));
    const value: TarInHeader = { createParents: false, overwrite: false, ...header };
    sendUpload<TarInRequest>(
      call,
      { message: { $case: "header", value } },
      archive,
      (chunk) => ({ message: { $case: "data", value: chunk } }),
      64 * 1024,
    ).catch(reject);
  });
}

/** Reads a whole TarOut stream into one buffer. */
export async function tarOutAll(
  client: FsServiceClient,
  request: Partial<TarOutRequest> & { path: string },
  metadata = authMetadata(),
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.tarOut(
    { include: [], exclude: [], ...request },
    metadata,
  ) as AsyncIterable<TarOutChunk>)
    chunks.push(Buffer.from(chunk.data));
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------------------------
// WatchService helpers (runner-agent/src/watch tests)
// ---------------------------------------------------------------------------------------------------------------

/** An agent for watch tests; `watchLimits` lowers the agent's watch limits. */
export type WatchAgent = AgentHarness;

export function startWatchAgent(watchLimits: Partial<WatchLimits> = {}): Promise<WatchAgent> {
  return startAgentHarness({ watchLimits });
}

/** Starts a watch with the request's defaults filled in. */
export function startWatch(
  client: WatchServiceClient,
  request: Partial<StartWatchRequest> & { path: string },
  metadata = authMetadata(),
): Promise<WatchInfo> {
  const full: StartWatchRequest = { ignore: [], debounceMs: 0, historyLimit: 0, idleTimeoutMs: 0, ...request };
  return new Promise((resolve, reject) =>
    client.startWatch(full, metadata, (error, response) => (error ? reject(error) : resolve(response.watch!))),
  );
}

export function readChanges(
  client: WatchServiceClient,
  request: Partial<ReadChangesRequest> & { watchId: string },
  metadata = authMetadata(),
): Promise<ReadChangesResponse> {
  const full: ReadChangesRequest = { afterCursor: 0, waitMs: 0, maxEvents: 0, ...request };
  return new Promise((resolve, reject) =>
    client.readChanges(full, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

export function listWatches(client: WatchServiceClient, metadata = authMetadata()): Promise<WatchInfo[]> {
  return new Promise((resolve, reject) =>
    client.listWatches({}, metadata, (error, response) => (error ? reject(error) : resolve(response.watches))),
  );
}

export function closeWatch(client: WatchServiceClient, watchId: string, metadata = authMetadata()): Promise<WatchInfo> {
  return new Promise((resolve, reject) =>
    client.closeWatch({ watchId }, metadata, (error, response) => (error ? reject(error) : resolve(response.watch!))),
  );
}

/** A StreamChanges call whose events are collected as they come. */
export interface WatchFollower {
  readonly events: WatchEvent[];
  /** Resolves with the first event not yet taken that matches; rejects after `timeoutMs` or when the stream ends. */
  next(predicate?: (event: WatchEvent) => boolean, timeoutMs?: number): Promise<WatchEvent>;
  /** Resolves when the call ends: undefined for OK, else the error status. */
  readonly ended: Promise<ServiceError | undefined>;
  cancel(): void;
}

export function followWatch(
  client: WatchServiceClient,
  request: Partial<StreamChangesRequest> & { watchId: string },
  metadata = authMetadata(),
): WatchFollower {
  const call = client.streamChanges({ keepaliveMs: 0, ...request }, metadata);
  const events: WatchEvent[] = [];
  let taken = 0;
  let finished = false;
  const wakers = new Set<() => void>();
  const wake = (): void => {
    for (const waker of wakers) waker();
  };
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on("data", (event: WatchEvent) => {
      events.push(event);
      wake();
    });
    call.on("error", (error: ServiceError) => {
      finished = true;
      wake();
      resolve(error);
    });
    call.on("end", () => {
      finished = true;
      wake();
      resolve(undefined);
    });
  });
  return {
    events,
    ended,
    cancel: () => call.cancel(),
    next(predicate = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          while (taken < events.length) {
            const event = events[taken++]!;
            if (predicate(event)) {
              finish();
              resolve(event);
              return true;
            }
          }
          if (finished) {
            finish();
            reject(
              new Error(
                `the watch stream ended without the expected event; got ${JSON.stringify(events.map((event) => event.event?.$case))}`,
              ),
            );
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `no matching watch event within ${timeoutMs} ms; got ${JSON.stringify(events.map((event) => event.event))}`,
            ),
          );
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        if (!check()) wakers.add(check);
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ExecService helpers (runner-agent/src/exec tests)
// ---------------------------------------------------------------------------------------------------------------

/** An ExecStartRequest with every field the caller left out at its default. */
export function execStartRequest(request: Partial<ExecStartRequest>): ExecStartRequest {
  return {
    argv: [],
    shell: "",
    cwd: "",
    env: {},
    timeoutMs: 0,
    user: "",
    stdin: Buffer.alloc(0),
    stdinOpen: false,
    pty: undefined,
    killGraceMs: 0,
    ...request,
  };
}

/** An agent for exec tests; `settings` overrides the exec caps and retention. */
export type ExecAgent = AgentHarness;

export function startExecAgent(settings: Partial<ExecSettings> = {}): Promise<ExecAgent> {
  return startAgentHarness({ exec: settings });
}

/** Starts a process with the Start RPC; resolves with its ExecInfo. */
export function startProcess(
  client: ExecServiceClient,
  request: Partial<ExecStartRequest>,
  metadata = authMetadata(),
): Promise<ExecInfo> {
  return new Promise((resolve, reject) =>
    client.start(execStartRequest(request), metadata, (error, response) =>
      error ? reject(error) : resolve(response.exec!),
    ),
  );
}

/** An Exec or Attach call whose events are collected as they come. */
export interface ExecFollower {
  readonly events: NonNullable<ExecEvent["event"]>[];
  /** Resolves with the first event not yet taken that matches; rejects after `timeoutMs` or when the stream ends. */
  next(
    predicate?: (event: NonNullable<ExecEvent["event"]>) => boolean,
    timeoutMs?: number,
  ): Promise<NonNullable<ExecEvent["event"]>>;
  /** Resolves when the call ends: undefined for OK, else the error status. */
  readonly ended: Promise<ServiceError | undefined>;
  /** Output bytes received so far, both streams in order (or one stream). */
  output(stream?: number): Buffer;
  cancel(): void;
}

export function followExec(call: ClientReadableStream<ExecEvent>): ExecFollower {
  const events: NonNullable<ExecEvent["event"]>[] = [];
  let taken = 0;
  let finished = false;
  const wakers = new Set<() => void>();
  const wake = (): void => {
    for (const waker of [...wakers]) waker();
  };
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on("data", (event: ExecEvent) => {
      if (event.event) events.push(event.event);
      wake();
    });
    call.on("error", (error: ServiceError) => {
      finished = true;
      wake();
      resolve(error);
    });
    call.on("end", () => {
      finished = true;
      wake();
      resolve(undefined);
    });
  });
  return {
    events,
    ended,
    cancel: () => call.cancel(),
    output: (stream) =>
      Buffer.concat(
        events.flatMap((event) =>
          event.$case === "output" && (stream === undefined || event.value.stream === stream)
            ? [Buffer.from(event.value.data)]
            : [],
        ),
      ),
    next(predicate = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          while (taken < events.length) {
            const event = events[taken++]!;
            if (predicate(event)) {
              finish();
              resolve(event);
              return true;
            }
          }
          if (finished) {
            finish();
            reject(
              new Error(
                `the exec stream ended without the expected event; got ${JSON.stringify(events.map((event) => event.$case))}`,
              ),
            );
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `no matching exec event within ${timeoutMs} ms; got ${JSON.stringify(events.map((event) => event.$case))}`,
            ),
          );
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        if (!check()) wakers.add(check);
      });
    },
  };
}

export function changesIn(event: WatchEvent): Change[] {
  return event.event?.$case === "changes" ? event.event.value.changes : [];
}

/** Changes as [kind, path] pairs (renames: [kind, path, old path]) sorted by path, for exact comparisons. */
export function summarizeChanges(changes: Change[]): ([ChangeKind, string] | [ChangeKind, string, string])[] {
  return changes
    .map((change): [ChangeKind, string] | [ChangeKind, string, string] =>
      change.oldPath ? [change.kind, change.path, change.oldPath] : [change.kind, change.path],
    )
    .sort((a, b) => a[1].localeCompare(b[1]));
}

/** Collects changes from a follower's batches until one touches `path`; returns every change seen on the way. */
export async function changesUntil(follower: WatchFollower, path: string, timeoutMs = 10_000): Promise<Change[]> {
  const seen: Change[] = [];
  await follower.next((event) => {
    seen.push(...changesIn(event));
    return changesIn(event).some((change) => change.path === path);
  }, timeoutMs);
  return seen;
}
