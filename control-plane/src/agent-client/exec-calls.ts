import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { ExecState, ExitReason, OutputStream, type ExecEvent, type ExecExit, type ExecInfo, type ExecOutput } from "@devhatchery/proto/agent/v1/exec";
import type { AgentClient, AgentExitReason } from "./agent-client.js";
import { fromGrpcError } from "./grpc-errors.js";

/** What the agent needs to start a process; exactly one of argv and shell is set. */
export interface AgentExecStart {
  argv: string[];
  shell: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  stdin: Buffer;
  stdinOpen: boolean;
}

/** A piece of a process's output log; `cursor` is the position of its first byte. */
export interface AgentExecChunk {
  stream: "stdout" | "stderr";
  data: Buffer;
  cursor: number;
}

export interface AgentExecExit {
  reason: AgentExitReason;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
}

/** One process the agent holds, as plain values. */
export interface AgentExecInfo {
  execId: string;
  pid: number;
  state: "running" | "exited";
  command: string;
  cwd: string;
  stdinOpen: boolean;
  exit: AgentExecExit | null;
  startedAtMs: number;
  endedAtMs: number;
  /** Every byte written so far (the end of the log), and the first byte the log still holds. */
  endCursor: number;
  startCursor: number;
}

export type AgentExecStreamEvent =
  | { type: "started"; execId: string }
  | ({ type: "output" } & AgentExecChunk)
  | { type: "dropped"; cursor: number; bytes: number }
  | { type: "keepalive"; cursor: number }
  | ({ type: "exited" } & AgentExecExit);

/** A stream following a process. Cancelling it leaves the process running. */
export interface AgentExecStream {
  /** Resolves when the stream ends: with the exit, or undefined after cancel(); rejects with a ControlPlaneError. */
  readonly ended: Promise<AgentExecExit | undefined>;
  cancel(): void;
}

export interface AgentExecRead {
  chunks: AgentExecChunk[];
  droppedBytes: number;
  nextCursor: number;
  eof: boolean;
  exec: AgentExecInfo;
}

const EXIT_REASON: Record<number, AgentExitReason> = {
  [ExitReason.EXIT_REASON_SIGNALED]: "signaled",
  [ExitReason.EXIT_REASON_TIMED_OUT]: "timed_out",
  [ExitReason.EXIT_REASON_INTERRUPTED]: "interrupted",
  [ExitReason.EXIT_REASON_OOM_KILLED]: "oom_killed",
};

/** Slack on a long poll's deadline beyond its wait, for the answer to travel back. */
const READ_DEADLINE_SLACK_MS = 10_000;

/** Starts a process and follows its output from the first byte (the Exec RPC). */
export function startAndFollowExec(agent: AgentClient, request: AgentExecStart, onEvent: (event: AgentExecStreamEvent) => void): AgentExecStream {
  const call = agent.grpc.exec.exec({ ...request, user: "", pty: undefined, killGraceMs: 0 }, agent.callMetadata());
  return followStream(agent, call, onEvent);
}

/** Follows a process's output from `cursor` (the Attach RPC), with keepalives after `keepaliveMs` of quiet. */
export function attachExec(agent: AgentClient, execId: string, cursor: number, keepaliveMs: number, onEvent: (event: AgentExecStreamEvent) => void): AgentExecStream {
  return followStream(agent, agent.grpc.exec.attach({ execId, cursor, keepaliveMs }, agent.callMetadata()), onEvent);
}

/** Output after `cursor`, at most `maxBytes`, waiting up to `waitMs` for some while the process runs. */
export function readExec(agent: AgentClient, execId: string, cursor: number, maxBytes: number, waitMs: number): Promise<AgentExecRead> {
  return unary(agent, (done) =>
    agent.grpc.exec.read({ execId, cursor, maxBytes, waitMs }, agent.callMetadata(), { deadline: Date.now() + waitMs + READ_DEADLINE_SLACK_MS }, (error, response) =>
      done(error, () => ({
        chunks: response.chunks.map(toChunk),
        droppedBytes: response.droppedBytes,
        nextCursor: response.nextCursor,
        eof: response.eof,
        exec: toExecInfo(response.exec),
      })),
    ),
  );
}

/** Writes to a process's stdin, optionally closing it; resolves with the bytes written to stdin so far. */
export function writeExecStdin(agent: AgentClient, execId: string, data: Buffer, close: boolean): Promise<number> {
  return unary(agent, (done) => agent.grpc.exec.writeStdin({ execId, data, close }, agent.callMetadata(), (error, response) => done(error, () => response.stdinBytes)));
}

/** Sends a signal (a name such as "SIGTERM" or "TERM") to the process group. */
export function signalExec(agent: AgentClient, execId: string, signal: string): Promise<AgentExecInfo> {
  return unary(agent, (done) => agent.grpc.exec.signal({ execId, signal }, agent.callMetadata(), (error, response) => done(error, () => toExecInfo(response.exec))));
}

export function getExec(agent: AgentClient, execId: string): Promise<AgentExecInfo> {
  return unary(agent, (done) => agent.grpc.exec.get({ execId }, agent.callMetadata(), (error, response) => done(error, () => toExecInfo(response.exec))));
}

/** Every process the agent holds: running ones first, then finished ones, each by start time. */
export function listExecs(agent: AgentClient): Promise<AgentExecInfo[]> {
  return unary(agent, (done) => agent.grpc.exec.list({}, agent.callMetadata(), (error, response) => done(error, () => response.execs.map(toExecInfo))));
}

function unary<T>(agent: AgentClient, call: (done: (error: ServiceError | null, value: () => T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(fromGrpcError(error, agent.runnerId)) : resolve(value()))));
}

function followStream(agent: AgentClient, call: ClientReadableStream<ExecEvent>, onEvent: (event: AgentExecStreamEvent) => void): AgentExecStream {
  let cancelled = false;
  let exit: AgentExecExit | undefined;
  const ended = new Promise<AgentExecExit | undefined>((resolve, reject) => {
    call.on("data", (message: ExecEvent) => {
      const event = toStreamEvent(message.event);
      if (!event || cancelled) return;
      if (event.type === "exited") exit = event;
      onEvent(event);
    });
    call.on("error", (error: ServiceError) => (cancelled && error.code === status.CANCELLED ? resolve(exit) : reject(fromGrpcError(error, agent.runnerId))));
    call.on("end", () => (exit || cancelled ? resolve(exit) : reject(fromGrpcError({ code: status.UNAVAILABLE, details: "the exec stream ended without an exit event" }, agent.runnerId))));
  });
  return {
    ended,
    cancel() {
      cancelled = true;
      call.cancel();
    },
  };
}

function toStreamEvent(event: ExecEvent["event"]): AgentExecStreamEvent | undefined {
  switch (event?.$case) {
    case "started":
      return { type: "started", execId: event.value.execId };
    case "output":
      return { type: "output", ...toChunk(event.value) };
    case "dropped":
      return { type: "dropped", cursor: event.value.cursor, bytes: event.value.bytes };
    case "keepalive":
      return { type: "keepalive", cursor: event.value.cursor };
    case "exited":
      return { type: "exited", ...toExit(event.value) };
    default:
      return undefined;
  }
}

function toChunk(output: ExecOutput): AgentExecChunk {
  return { stream: output.stream === OutputStream.OUTPUT_STREAM_STDERR ? "stderr" : "stdout", data: Buffer.from(output.data), cursor: output.cursor };
}

function toExit(exit: ExecExit): AgentExecExit {
  return { reason: EXIT_REASON[exit.reason] ?? "exited", exitCode: exit.exitCode ?? null, signal: exit.signal || null, durationMs: exit.durationMs };
}

function toExecInfo(info: ExecInfo | undefined): AgentExecInfo {
  return {
    execId: info?.execId ?? "",
    pid: info?.pid ?? 0,
    state: info?.state === ExecState.EXEC_STATE_RUNNING ? "running" : "exited",
    command: info?.command ?? "",
    cwd: info?.cwd ?? "",
    stdinOpen: info?.stdinOpen ?? false,
    exit: info?.exit ? toExit(info.exit) : null,
    startedAtMs: info?.startedAtMs ?? 0,
    endedAtMs: info?.endedAtMs ?? 0,
    endCursor: info?.output?.endCursor ?? 0,
    startCursor: info?.output?.startCursor ?? 0,
  };
}
