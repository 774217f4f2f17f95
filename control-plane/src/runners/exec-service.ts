import { StringDecoder } from "node:string_decoder";
import type { AgentExecEvent, AgentExitReason } from "../agent-client/agent-client.js";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { OutputCollector } from "./output-collector.js";
import type { Principal } from "./runner.js";
import type { RunnerService } from "./runner-service.js";

export interface ExecCommand {
  /** A command string (run by `/bin/sh -lc`) or a program with its arguments. */
  command: string | string[];
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
}

export interface ExecOutputChunk {
  stream: "stdout" | "stderr";
  text: string;
  /** Bytes of output received so far, both streams together. */
  totalBytes: number;
}

export interface ExecResult {
  execId: string;
  exitCode: number | null;
  signal: string | null;
  reason: AgentExitReason;
  stdout: string;
  stderr: string;
  /** Bytes cut from the middle of stdout/stderr because they exceeded the result cap (or the agent's output cap). */
  omittedBytes: number;
  durationMs: number;
}

/** Output kept per stream in a result; the middle of longer output is cut. */
export const RESULT_OUTPUT_CAP_BYTES = 256 * 1024;

/** Runs commands in a principal's runners and gathers their output. */
export class ExecService {
  constructor(
    private readonly runners: RunnerService,
    private readonly log: Logger,
  ) {}

  async run(principal: Principal, runnerRef: string, command: ExecCommand, onOutput: (chunk: ExecOutputChunk) => void, signal?: AbortSignal): Promise<ExecResult> {
    const { argv, shell } = toArgvOrShell(command.command);
    const agent = await this.runners.connect(principal, runnerRef);
    const collected = { stdout: new OutputCollector(RESULT_OUTPUT_CAP_BYTES), stderr: new OutputCollector(RESULT_OUTPUT_CAP_BYTES) };
    const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
    let execId = "";
    let totalBytes = 0;
    let droppedBytes = 0;
    const onEvent = (event: AgentExecEvent): void => {
      if (event.type === "started") execId = event.execId;
      if (event.type === "dropped") droppedBytes += event.bytes;
      if (event.type !== "output") return;
      collected[event.stream].add(event.data);
      totalBytes += event.data.length;
      const text = decoders[event.stream].write(event.data);
      if (text) onOutput({ stream: event.stream, text, totalBytes });
    };
    const exited = await agent.runExec({ argv, shell, cwd: command.cwd ?? "", env: command.env ?? {}, timeoutMs: command.timeoutMs ?? 0 }, onEvent, signal);
    this.log.info({ runner: runnerRef, principal: principal.id, exec: execId, reason: exited.reason, exitCode: exited.exitCode }, "exec finished");
    return {
      execId,
      exitCode: exited.exitCode ?? null,
      signal: exited.signal ?? null,
      reason: exited.reason,
      stdout: collected.stdout.text(),
      stderr: collected.stderr.text(),
      omittedBytes: collected.stdout.omittedBytes + collected.stderr.omittedBytes + droppedBytes,
      durationMs: exited.durationMs,
    };
  }
}

function toArgvOrShell(command: string | string[]): { argv: string[]; shell: string } {
  if (typeof command === "string") {
    if (!command.trim()) throw new ControlPlaneError("INVALID_ARGUMENT", "command is empty; pass a shell command such as \"ls -la\" or an argv array such as [\"ls\", \"-la\"].");
    return { argv: [], shell: command };
  }
  if (command.length === 0 || !command[0]) {
    throw new ControlPlaneError("INVALID_ARGUMENT", "command argv is empty; its first element must name a program, e.g. [\"ls\", \"-la\"].");
  }
  return { argv: command, shell: "" };
}
