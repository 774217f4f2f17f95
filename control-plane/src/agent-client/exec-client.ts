import type {
  ExecGetResponse,
  ExecListResponse,
  ExecReadResponse,
  ExecSignalResponse,
  ExecWriteStdinResponse,
} from "@devhatchery/proto/agent/v1/exec";
import type { AgentTransport } from "./agent-transport.js";
import type { ExecEvent, ExecInfo, ExecOutputPage, ExecRequest } from "./exec-info.js";
import { toExecChunk, toExecInfo } from "./exec-proto.js";
import { followExecStream, type ExecStream } from "./exec-stream.js";

/** Slack on a long poll's deadline beyond its wait, for the answer to travel back. */
const READ_DEADLINE_SLACK_MS = 10_000;

/** The processes role of an agent client: start, follow, read, feed, signal, interrupt and list processes. */
export class ExecClient {
  /**
   * Env every process gets under its own (a request's variables win): a claimed pooled runner's claimer env, which
   * its container could not get at creation. Empty for other runners, whose env is in the container.
   */
  baseEnv: Readonly<Record<string, string>> = {};

  constructor(private readonly transport: AgentTransport) {}

  /**
   * Starts a process and follows its output from the first byte (the Exec RPC). Cancelling the stream leaves the
   * process running (the agent keeps processes independent of their readers); interrupt() stops it.
   */
  start(request: ExecRequest, onEvent: (event: ExecEvent) => void): ExecStream {
    const call = this.transport.exec.exec(
      { ...request, env: { ...this.baseEnv, ...request.env }, user: "", pty: request.pty, killGraceMs: 0 },
      this.transport.metadata(),
    );
    return followExecStream(this.transport, call, onEvent);
  }

  /** Follows a process's output from `cursor` (the Attach RPC), with keepalives after `keepaliveMs` of quiet. */
  attach(execId: string, cursor: number, keepaliveMs: number, onEvent: (event: ExecEvent) => void): ExecStream {
    return followExecStream(
      this.transport,
      this.transport.exec.attach({ execId, cursor, keepaliveMs }, this.transport.metadata()),
      onEvent,
    );
  }

  /** Output after `cursor`, at most `maxBytes`, waiting up to `waitMs` for some while the process runs. */
  read(execId: string, cursor: number, maxBytes: number, waitMs: number): Promise<ExecOutputPage> {
    const deadline = Date.now() + waitMs + READ_DEADLINE_SLACK_MS;
    return this.transport.unary(
      (done) =>
        this.transport.exec.read({ execId, cursor, maxBytes, waitMs }, this.transport.metadata(), { deadline }, done),
      (response: ExecReadResponse) => ({
        chunks: response.chunks.map(toExecChunk),
        droppedBytes: response.droppedBytes,
        nextCursor: response.nextCursor,
        eof: response.eof,
        exec: toExecInfo(response.exec),
      }),
    );
  }

  /** Writes to a process's stdin, optionally closing it; resolves with the bytes written to stdin so far. */
  writeStdin(execId: string, data: Buffer, close: boolean): Promise<number> {
    return this.transport.unary(
      (done) => this.transport.exec.writeStdin({ execId, data, close }, this.transport.metadata(), done),
      (response: ExecWriteStdinResponse) => response.stdinBytes,
    );
  }

  /** Sends a signal (a name such as "SIGTERM" or "TERM") to the process group. */
  signal(execId: string, signal: string): Promise<ExecInfo> {
    return this.transport.unary(
      (done) => this.transport.exec.signal({ execId, signal }, this.transport.metadata(), done),
      (response: ExecSignalResponse) => toExecInfo(response.exec),
    );
  }

  /** Interrupts a process: SIGINT to its group, then SIGTERM and SIGKILL `graceMs` apart (0: the agent's default). */
  interrupt(execId: string, graceMs = 0): Promise<void> {
    return this.transport.unary(
      (done) => this.transport.exec.interrupt({ execId, graceMs }, this.transport.metadata(), done),
      () => undefined,
    );
  }

  /** Changes a pty process's terminal size (it gets SIGWINCH); FAILED_PRECONDITION for a process without a pty. */
  resize(execId: string, rows: number, cols: number): Promise<void> {
    return this.transport.unary(
      (done) => this.transport.exec.resize({ execId, size: { rows, cols } }, this.transport.metadata(), done),
      () => undefined,
    );
  }

  /** One process the agent holds; NOT_FOUND once it was removed or never existed. */
  get(execId: string): Promise<ExecInfo> {
    return this.transport.unary(
      (done) => this.transport.exec.get({ execId }, this.transport.metadata(), done),
      (response: ExecGetResponse) => toExecInfo(response.exec),
    );
  }

  /** Every process the agent holds: running ones first, then finished ones, each by start time. */
  list(): Promise<ExecInfo[]> {
    return this.transport.unary(
      (done) => this.transport.exec.list({}, this.transport.metadata(), done),
      (response: ExecListResponse) => response.execs.map(toExecInfo),
    );
  }
}
