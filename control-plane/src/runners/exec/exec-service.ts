import type { ExitReason } from "../../agent-client/exec-info.js";
import { NO_AUDIT, type AuditLog } from "../../audit.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { NO_METER, type Meter } from "../../meter.js";
import { ExecAudit } from "./exec-audit.js";
import { execCallError } from "./exec-call-error.js";
import type { ExecCommand, ExecFollower, ExecInfo, ExecOutcome, ExecOutputChunk, ExecRead } from "./exec.js";
import { runExecUntil } from "./exec-run.js";
import { toExecReadText } from "./exec-read-text.js";
import type { Principal } from "../runner.js";
import type { RunnerService } from "../runner-service.js";

export type { ExecCommand, ExecOutputChunk } from "./exec.js";

/** A finished process's result (run waits for the end). */
export interface ExecResult {
  execId: string;
  exitCode: number | null;
  signal: string | null;
  reason: ExitReason;
  stdout: string;
  stderr: string;
  /** Bytes cut from the middle of stdout/stderr because they exceeded the result cap (or the agent's output cap). */
  omittedBytes: number;
  durationMs: number;
}

export interface ExecStartOptions {
  /** How long to follow the process before returning it still running; undefined waits for the end. */
  yieldMs?: number | undefined;
  onOutput?: (chunk: ExecOutputChunk) => void;
  /** Aborting interrupts the process (SIGINT, SIGTERM, SIGKILL) and rejects with CANCELLED. */
  signal?: AbortSignal | undefined;
}

/** Output kept per stream in a result; the middle of longer output is cut. */
export const RESULT_OUTPUT_CAP_BYTES = 256 * 1024;

/** How often a follower's stream hears from a quiet process (it notices a dead runner no later than this). */
const FOLLOW_KEEPALIVE_MS = 15_000;

/** Runs commands in a principal's runners and reads, feeds, signals and lists their processes. */
export class ExecService {
  private readonly audit: ExecAudit;

  constructor(
    private readonly runners: RunnerService,
    private readonly log: Logger,
    audit: AuditLog = NO_AUDIT,
    private readonly meter: Meter = NO_METER,
  ) {
    this.audit = new ExecAudit(audit, meter);
  }

  /** Starts a process and follows it up to `yieldMs`; returns it ended, or still running with a cursor to read on. */
  async start(
    principal: Principal,
    runnerRef: string,
    command: ExecCommand,
    options: ExecStartOptions = {},
  ): Promise<ExecOutcome> {
    const agent = await this.runners.connect(principal, runnerRef);
    this.audit.started(principal.id, agent.runnerId, command);
    let outcome: ExecOutcome;
    try {
      outcome = await runExecUntil(agent, command, { capBytes: RESULT_OUTPUT_CAP_BYTES, ...options });
    } catch (error) {
      this.audit.failed(principal.id, agent.runnerId, error);
      throw error;
    }
    this.audit.returned(principal.id, agent.runnerId, outcome);
    this.log.info(
      {
        runner: agent.runnerId,
        principal: principal.id,
        exec: outcome.execId,
        state: outcome.state,
        reason: outcome.exit?.reason,
      },
      "exec returned",
    );
    return outcome;
  }

  /** Runs a process to its end and returns its exit and output. */
  async run(
    principal: Principal,
    runnerRef: string,
    command: ExecCommand,
    onOutput: (chunk: ExecOutputChunk) => void,
    signal?: AbortSignal,
  ): Promise<ExecResult> {
    const outcome = await this.start(principal, runnerRef, command, { onOutput, signal });
    const exit = outcome.exit;
    if (!exit) throw new ControlPlaneError("INTERNAL", `Exec "${outcome.execId}" was returned before it ended.`);
    return {
      execId: outcome.execId,
      exitCode: exit.exitCode,
      signal: exit.signal,
      reason: exit.reason,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      omittedBytes: outcome.omittedBytes + outcome.droppedBytes,
      durationMs: exit.durationMs,
    };
  }

  /** Output after `cursor` (at most `maxBytes`), waiting up to `waitMs` for some while the process runs. */
  async read(
    principal: Principal,
    runnerRef: string,
    execId: string,
    request: { cursor: number; maxBytes: number; waitMs: number },
  ): Promise<ExecRead> {
    const agent = await this.runners.connect(principal, runnerRef);
    const read = await agent.exec
      .read(execId, request.cursor, request.maxBytes, request.waitMs)
      .catch((error: unknown) => {
        throw execCallError(error, "read");
      });
    this.audit.read(
      agent.runnerId,
      execId,
      read.chunks.reduce((sum, chunk) => sum + chunk.data.length, 0),
      read.eof ? read.exec.exit : null,
    );
    const text = toExecReadText(read.chunks, read.nextCursor, read.eof);
    return {
      exec: read.exec,
      stdout: text.stdout,
      stderr: text.stderr,
      cursor: request.cursor,
      nextCursor: text.nextCursor,
      droppedBytes: read.droppedBytes,
      eof: read.eof,
    };
  }

  /** Writes text to a process's stdin, optionally closing it; resolves with the bytes written to stdin so far. */
  async write(principal: Principal, runnerRef: string, execId: string, data: string, close: boolean): Promise<number> {
    const agent = await this.runners.connect(principal, runnerRef);
    const bytes = Buffer.from(data, "utf8");
    this.meter.bytesStreamed("to_runner", bytes.length);
    return agent.exec.writeStdin(execId, bytes, close).catch((error: unknown) => {
      throw execCallError(error, "write");
    });
  }

  /** Sends a signal to a process's group. */
  async signal(principal: Principal, runnerRef: string, execId: string, signal: string): Promise<ExecInfo> {
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.exec.signal(execId, signal).catch((error: unknown) => {
      throw execCallError(error, "signal");
    });
    this.log.info({ runner: runnerRef, principal: principal.id, exec: execId, signal }, "exec signalled");
    return info;
  }

  /** Changes the terminal size of a process started with a pty. */
  async resize(principal: Principal, runnerRef: string, execId: string, rows: number, cols: number): Promise<ExecInfo> {
    const agent = await this.runners.connect(principal, runnerRef);
    await agent.exec.resize(execId, rows, cols).catch((error: unknown) => {
      throw execCallError(error, "resize");
    });
    return agent.exec.get(execId);
  }

  /** The processes of a runner: running ones first, then finished ones the agent still holds. */
  async list(principal: Principal, runnerRef: string): Promise<ExecInfo[]> {
    return (await this.runners.connect(principal, runnerRef)).exec.list();
  }

  /** The last `maxBytes` of a process's output in log order (both streams), and the cursor where that text starts. */
  async tail(
    principal: Principal,
    runnerRef: string,
    execId: string,
    maxBytes: number,
  ): Promise<{ exec: ExecInfo; text: string; fromCursor: number }> {
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.exec.get(execId);
    const fromCursor = Math.max(info.startCursor, info.endCursor - maxBytes);
    const read = await agent.exec.read(execId, fromCursor, maxBytes, 0);
    return {
      exec: read.exec,
      text: Buffer.concat(read.chunks.map((chunk) => chunk.data)).toString("utf8"),
      fromCursor: fromCursor + read.droppedBytes,
    };
  }

  /** Calls `onChange` whenever the process writes output or ends, until closed. A finished process never changes. */
  async follow(principal: Principal, runnerRef: string, execId: string, onChange: () => void): Promise<ExecFollower> {
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.exec.get(execId);
    if (info.state === "exited") return { close: () => {}, [Symbol.asyncDispose]: async () => {} };
    const stream = agent.exec.attach(execId, info.endCursor, FOLLOW_KEEPALIVE_MS, (event) => {
      if (event.type !== "keepalive" && event.type !== "started") onChange();
    });
    stream.ended.catch((error: unknown) =>
      this.log.debug({ err: error, runner: runnerRef, exec: execId }, "exec follower ended"),
    );
    return { close: () => stream.cancel(), [Symbol.asyncDispose]: () => stream[Symbol.asyncDispose]() };
  }
}
