import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import {
  ExecState,
  ExitReason,
  OutputStream,
  type ExecAttachRequest,
  type ExecEvent,
  type ExecExit,
  type ExecInfo,
  type ExecServiceServer,
  type ExecStartRequest,
} from "@devhatchery/proto/agent/v1/exec";
import { AgentError, toGrpcError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ManagedProcess } from "./managed-process.js";
import type { OutputChunk } from "./output-chunk.js";
import { followOutput, readOutputPage, type FollowEvent } from "./output-reader.js";
import type { ExitReasonName, ExitStatus, ProcessInfo } from "./process-info.js";
import type { ProcessManager, StartSpec } from "./process-manager.js";
import { parseSignalName } from "./signal-name.js";

const EXIT_REASON: Record<ExitReasonName, ExitReason> = {
  exited: ExitReason.EXIT_REASON_EXITED,
  signaled: ExitReason.EXIT_REASON_SIGNALED,
  timed_out: ExitReason.EXIT_REASON_TIMED_OUT,
  interrupted: ExitReason.EXIT_REASON_INTERRUPTED,
  oom_killed: ExitReason.EXIT_REASON_OOM_KILLED,
};
const DEFAULT_READ_BYTES = 1024 * 1024;
const MAX_READ_BYTES = 16 * 1024 * 1024;

function toExecExit(exit: ExitStatus): ExecExit {
  return {
    reason: EXIT_REASON[exit.reason],
    ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
    signal: exit.signal ?? "",
    durationMs: exit.durationMs,
  };
}

function toExecInfo(info: ProcessInfo): ExecInfo {
  return {
    execId: info.id,
    pid: info.pid,
    state: info.state === "running" ? ExecState.EXEC_STATE_RUNNING : ExecState.EXEC_STATE_EXITED,
    command: info.command,
    cwd: info.cwd,
    user: info.user,
    pty: info.pty,
    stdinOpen: info.stdinOpen,
    exit: info.exit ? toExecExit(info.exit) : undefined,
    startedAtMs: info.startedAtMs,
    endedAtMs: info.endedAtMs ?? 0,
    output: info.output,
  };
}

function toExecOutput(chunk: OutputChunk): NonNullable<ExecEvent["event"]> & { $case: "output" } {
  const stream = chunk.stream === "stdout" ? OutputStream.OUTPUT_STREAM_STDOUT : OutputStream.OUTPUT_STREAM_STDERR;
  return { $case: "output", value: { stream, seq: chunk.seq, data: chunk.data, cursor: chunk.cursor } };
}

function toEvent(event: FollowEvent): ExecEvent["event"] {
  switch (event.type) {
    case "output":
      return toExecOutput(event.chunk);
    case "dropped":
      return { $case: "dropped", value: { cursor: event.cursor, bytes: event.bytes } };
    case "keepalive":
      return { $case: "keepalive", value: { cursor: event.cursor } };
    case "exited":
      return { $case: "exited", value: toExecExit(event.exit) };
  }
}

function toStartSpec(request: ExecStartRequest): StartSpec {
  const { argv, shell, cwd, env, timeoutMs, user, stdin, stdinOpen, pty, killGraceMs } = request;
  return { argv, shell, cwd, env, timeoutMs, user, stdin: Buffer.from(stdin), stdinOpen, terminal: pty, killGraceMs };
}

function unary<Req, Res>(work: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => work(call.request, call))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toGrpcError(error)),
      );
  };
}

/** Writes a process's events to a stream at the reader's pace; cancelling the stream leaves the process running. */
async function stream(
  call: ServerWritableStream<unknown, ExecEvent>,
  managed: ManagedProcess,
  cursor: number,
  keepaliveMs: number,
): Promise<void> {
  const cancelled = new AbortController();
  call.on("cancelled", () => cancelled.abort());
  for await (const event of followOutput(managed, cursor, keepaliveMs, cancelled.signal)) {
    if (cancelled.signal.aborted) return;
    if (!call.write({ event: toEvent(event) })) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off("drain", done);
          cancelled.signal.removeEventListener("abort", done);
          resolve();
        };
        call.on("drain", done);
        cancelled.signal.addEventListener("abort", done);
      });
    }
  }
  call.end();
}

/** The gRPC adapter for ExecService. */
export function createExecService(processes: ProcessManager, log: Logger): ExecServiceServer {
  const fail = (call: ServerWritableStream<unknown, ExecEvent>) => (error: unknown) => {
    if (!(error instanceof AgentError)) log.error({ err: error }, "exec stream failed");
    call.emit("error", toGrpcError(error));
  };
  return {
    start: unary(async (request) => ({ exec: toExecInfo((await processes.start(toStartSpec(request))).info()) })),
    exec(call: ServerWritableStream<ExecStartRequest, ExecEvent>): void {
      processes
        .start(toStartSpec(call.request))
        .then((started) => {
          call.write({ event: { $case: "started", value: { execId: started.id, pid: started.info().pid } } });
          return stream(call, started, 0, processes.keepaliveMs);
        })
        .catch(fail(call));
    },
    attach(call: ServerWritableStream<ExecAttachRequest, ExecEvent>): void {
      const { execId, cursor, keepaliveMs: requested } = call.request;
      Promise.resolve()
        .then(() => stream(call, processes.get(execId), cursor, requested || processes.keepaliveMs))
        .catch(fail(call));
    },
    read: unary(async ({ execId, cursor, maxBytes, waitMs }, call) => {
      const managed = processes.get(execId);
      const cancelled = new AbortController();
      call.on("cancelled", () => cancelled.abort());
      const page = await readOutputPage(
        managed,
        cursor,
        Math.min(maxBytes || DEFAULT_READ_BYTES, MAX_READ_BYTES),
        waitMs,
        cancelled.signal,
      );
      return {
        chunks: page.chunks.map((chunk) => toExecOutput(chunk).value),
        droppedBytes: page.droppedBytes,
        nextCursor: page.nextCursor,
        eof: page.eof,
        exec: toExecInfo(managed.info()),
      };
    }),
    writeStdin: unary(async ({ execId, data, close }) => ({
      stdinBytes: await processes.get(execId).writeStdin(Buffer.from(data), close),
    })),
    signal: unary(({ execId, signal }) => {
      const managed = processes.get(execId);
      managed.signal(parseSignalName(signal));
      return { exec: toExecInfo(managed.info()) };
    }),
    interrupt: unary(({ execId, graceMs }) => {
      const managed = processes.get(execId);
      managed.interrupt(graceMs || processes.killGraceMs);
      return { exec: toExecInfo(managed.info()) };
    }),
    resize: unary(({ execId, size }) => {
      if (!size?.rows || !size.cols)
        throw new AgentError("INVALID_ARGUMENT", "Set size with rows and cols of at least 1, e.g. rows 24, cols 80.");
      processes.get(execId).resize(size.rows, size.cols);
      return {};
    }),
    get: unary(({ execId }) => ({ exec: toExecInfo(processes.get(execId).info()) })),
    list: unary(() => ({ execs: processes.list().map(toExecInfo) })),
    remove: unary(async ({ execId }) => {
      await processes.remove(execId);
      return {};
    }),
  };
}
