import { StringDecoder } from "node:string_decoder";
import type { AgentClient } from "../../agent-client/agent-client.js";
import type { ExecEvent, ExecRequest } from "../../agent-client/exec-info.js";
import { ControlPlaneError } from "../../errors.js";
import type { ExecCommand, ExecOutcome, ExecOutputChunk } from "./exec.js";
import { ExecOutputExcerpt } from "./exec-output-excerpt.js";

export interface ExecRunOptions {
  capBytes: number;
  yieldMs?: number | undefined;
  onOutput?: ((chunk: ExecOutputChunk) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Starts a process and follows it until it ends or `yieldMs` passes (then it keeps running on its own). Aborting
 * the signal interrupts it: SIGINT, SIGTERM, SIGKILL, escalated by the agent. Either stop waits for the process's
 * id, so a process is never left running without one to find it by.
 */
export async function runExecUntil(
  agent: AgentClient,
  command: ExecCommand,
  options: ExecRunOptions,
): Promise<ExecOutcome> {
  const request = toAgentStart(command);
  if (options.signal?.aborted) throw cancelled();
  const excerpt = new ExecOutputExcerpt(options.capBytes);
  const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  let execId = "";
  let nextCursor = 0;
  let droppedBytes = 0;
  let pendingStop: "yield" | "abort" | undefined;
  let stopped: "yield" | "abort" | undefined;

  const stop = (why: "yield" | "abort"): void => {
    if (stopped) return;
    if (!execId) {
      pendingStop = why === "abort" ? "abort" : (pendingStop ?? why);
      return;
    }
    stopped = why;
    if (why === "abort") agent.exec.interrupt(execId).catch(() => undefined);
    stream.cancel();
  };
  const onEvent = (event: ExecEvent): void => {
    if (event.type === "started") {
      execId = event.execId;
      if (pendingStop) stop(pendingStop);
    } else if (event.type === "output") {
      excerpt.add(event);
      nextCursor = event.cursor + event.data.length;
      const text = decoders[event.stream].write(event.data);
      if (text)
        options.onOutput?.({ execId, stream: event.stream, text, cursor: event.cursor, totalBytes: nextCursor });
    } else if (event.type === "dropped") {
      droppedBytes += event.bytes;
      nextCursor = event.cursor + event.bytes;
    } else if (event.type === "keepalive") {
      nextCursor = event.cursor;
    }
  };
  const stream = agent.exec.start(request, onEvent);
  const onAbort = (): void => stop("abort");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = options.yieldMs === undefined ? undefined : setTimeout(() => stop("yield"), options.yieldMs);
  try {
    const exit = await stream.ended;
    if (stopped === "abort") throw cancelled();
    return {
      execId,
      state: exit ? "exited" : "running",
      exit: exit ?? null,
      stdout: excerpt.text("stdout"),
      stderr: excerpt.text("stderr"),
      omittedBytes: excerpt.omittedBytes,
      droppedBytes,
      nextCursor,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function cancelled(): ControlPlaneError {
  return new ControlPlaneError(
    "CANCELLED",
    "The exec call was cancelled; the process was interrupted (SIGINT, then SIGTERM, then SIGKILL).",
  );
}

function toAgentStart(command: ExecCommand): ExecRequest {
  const common = {
    cwd: command.cwd ?? "",
    env: command.env ?? {},
    timeoutMs: command.timeoutMs ?? 0,
    stdin: Buffer.from(command.stdin ?? "", "utf8"),
    stdinOpen: command.stdinOpen ?? false,
    pty: command.pty,
  };
  if (typeof command.command === "string") {
    if (!command.command.trim())
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        'command is empty; pass a shell command such as "ls -la" or an argv array such as ["ls", "-la"].',
      );
    return { argv: [], shell: command.command, ...common };
  }
  if (command.command.length === 0 || !command.command[0]) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      'command argv is empty; its first element must name a program, e.g. ["ls", "-la"].',
    );
  }
  return { argv: command.command, shell: "", ...common };
}
