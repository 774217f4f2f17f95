import {
  ExecState,
  ExitReason as ProtoExitReason,
  OutputStream,
  type ExecEvent as ProtoExecEvent,
  type ExecExit as ProtoExecExit,
  type ExecInfo as ProtoExecInfo,
  type ExecOutput,
} from "@devhatchery/proto/agent/v1/exec";
import type { ExecChunk, ExecEvent, ExecExit, ExecInfo, ExitReason } from "./exec-info.js";

const EXIT_REASON: Record<number, ExitReason> = {
  [ProtoExitReason.EXIT_REASON_SIGNALED]: "signaled",
  [ProtoExitReason.EXIT_REASON_TIMED_OUT]: "timed_out",
  [ProtoExitReason.EXIT_REASON_INTERRUPTED]: "interrupted",
  [ProtoExitReason.EXIT_REASON_OOM_KILLED]: "oom_killed",
};

/** A proto exec event as the domain sees it; unknown events map to undefined. */
export function toExecEvent(event: ProtoExecEvent["event"]): ExecEvent | undefined {
  switch (event?.$case) {
    case "started":
      return { type: "started", execId: event.value.execId };
    case "output":
      return { type: "output", ...toExecChunk(event.value) };
    case "dropped":
      return { type: "dropped", cursor: event.value.cursor, bytes: event.value.bytes };
    case "keepalive":
      return { type: "keepalive", cursor: event.value.cursor };
    case "exited":
      return { type: "exited", ...toExecExit(event.value) };
    default:
      return undefined;
  }
}

/** A proto output message as a chunk of the output log. */
export function toExecChunk(output: ExecOutput): ExecChunk {
  return {
    stream: output.stream === OutputStream.OUTPUT_STREAM_STDERR ? "stderr" : "stdout",
    data: Buffer.from(output.data),
    cursor: output.cursor,
  };
}

function toExecExit(exit: ProtoExecExit): ExecExit {
  return {
    reason: EXIT_REASON[exit.reason] ?? "exited",
    exitCode: exit.exitCode ?? null,
    signal: exit.signal || null,
    durationMs: exit.durationMs,
  };
}

/** A proto ExecInfo as the domain sees it. */
export function toExecInfo(info: ProtoExecInfo | undefined): ExecInfo {
  return {
    execId: info?.execId ?? "",
    pid: info?.pid ?? 0,
    state: info?.state === ExecState.EXEC_STATE_RUNNING ? "running" : "exited",
    command: info?.command ?? "",
    cwd: info?.cwd ?? "",
    stdinOpen: info?.stdinOpen ?? false,
    pty: info?.pty ?? false,
    exit: info?.exit ? toExecExit(info.exit) : null,
    startedAtMs: info?.startedAtMs ?? 0,
    endedAtMs: info?.endedAtMs ?? 0,
    endCursor: info?.output?.endCursor ?? 0,
    startCursor: info?.output?.startCursor ?? 0,
  };
}
