/** Why a process ended. */
export type ExitReasonName = "exited" | "signaled" | "timed_out" | "interrupted" | "oom_killed";

export interface ExitStatus {
  reason: ExitReasonName;
  /** Set when the process exited with a code, undefined when a signal ended it. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  durationMs: number;
}

/** A process as the manager describes it to callers. */
export interface ProcessInfo {
  id: string;
  pid: number;
  state: "running" | "exited";
  /** For display: the shell string or argv joined by spaces, cut when long. */
  command: string;
  cwd: string;
  /** As requested; empty for the agent's own user. */
  user: string;
  pty: boolean;
  stdinOpen: boolean;
  exit: ExitStatus | undefined;
  startedAtMs: number;
  endedAtMs: number | undefined;
  output: { endCursor: number; startCursor: number; memoryBytes: number; spilledBytes: number; readers: number };
}
