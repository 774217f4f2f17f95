import { z } from "zod";
import type { ExecExit, ExecInfo } from "../../runners/exec/exec.js";

/** The `exec_id` argument of the exec_* tools. */
export const execIdArg = z
  .string()
  .min(1)
  .describe('The process, as returned by exec or exec_list, e.g. "ex_0123456789abcdef".');

const REASONS = ["exited", "signaled", "timed_out", "interrupted", "oom_killed"] as const;

/** How a process ended; every field is null while it runs. */
export const execExitFields = {
  exit_code: z
    .number()
    .int()
    .nullable()
    .describe("The exit code; null while running or when a signal ended the process."),
  signal: z.string().nullable().describe('The signal that ended the process, e.g. "SIGKILL"; null otherwise.'),
  reason: z
    .enum(REASONS)
    .nullable()
    .describe(
      "Why the process ended: on its own, by a signal, by timeout_ms, after an interrupt (cancelled call), or killed for using too much memory; null while running.",
    ),
  duration_ms: z.number().int().nullable().describe("How long the process ran; null while running."),
};

export const execInfoSchema = z.object({
  exec_id: z.string(),
  state: z.enum(["running", "exited"]),
  command: z.string().describe("The command, as given (long ones are cut with …)."),
  cwd: z.string().describe("Absolute working directory."),
  pid: z.number().int(),
  stdin_open: z.boolean().describe("True when exec_write can still feed its stdin."),
  pty: z.boolean().describe("True when it runs on a pseudo-terminal (exec_resize changes its size)."),
  ...execExitFields,
  started_at: z.string().describe("Start time, ISO 8601."),
  ended_at: z.string().nullable().describe("End time, ISO 8601; null while running."),
  output_bytes: z
    .number()
    .int()
    .describe("Bytes of output written so far, both streams: exec_read with this cursor waits for new output."),
  dropped_bytes: z
    .number()
    .int()
    .describe(
      "Oldest output bytes no longer kept: the runner keeps a capped amount of output per process (256 MiB by default) and for all processes together, dropping the oldest finished process's output first.",
    ),
});

export type ExecInfoOutput = z.infer<typeof execInfoSchema>;

export function toExitFields(exit: ExecExit | null): {
  exit_code: number | null;
  signal: string | null;
  reason: ExecExit["reason"] | null;
  duration_ms: number | null;
} {
  return {
    exit_code: exit?.exitCode ?? null,
    signal: exit?.signal ?? null,
    reason: exit?.reason ?? null,
    duration_ms: exit?.durationMs ?? null,
  };
}

export function toExecInfoOutput(info: ExecInfo): ExecInfoOutput {
  return {
    exec_id: info.execId,
    state: info.state,
    command: info.command,
    cwd: info.cwd,
    pid: info.pid,
    stdin_open: info.stdinOpen,
    pty: info.pty,
    ...toExitFields(info.exit),
    started_at: new Date(info.startedAtMs).toISOString(),
    ended_at: info.endedAtMs ? new Date(info.endedAtMs).toISOString() : null,
    output_bytes: info.endCursor,
    dropped_bytes: info.startCursor,
  };
}

/** One line for a text rendering: "exit code 3", "killed by SIGKILL", "running"… */
export function describeExit(exit: ExecExit | null): string {
  if (!exit) return "running";
  switch (exit.reason) {
    case "exited":
      return `exit code ${exit.exitCode}`;
    case "timed_out":
      return `timed out (${exit.signal ? `ended by ${exit.signal}` : `exit code ${exit.exitCode}`})`;
    case "oom_killed":
      return "killed for using too much memory (out of memory)";
    case "interrupted":
      return `interrupted (${exit.signal ? `ended by ${exit.signal}` : `exit code ${exit.exitCode}`})`;
    default:
      return `killed by ${exit.signal}`;
  }
}
