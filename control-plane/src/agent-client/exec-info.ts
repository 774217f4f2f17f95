/** What the agent needs to start a process; exactly one of argv and shell is set. */
export interface ExecRequest {
  argv: string[];
  shell: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  stdin: Buffer;
  stdinOpen: boolean;
  /** Run on a pseudo-terminal of this size instead of pipes (stdout carries both streams). */
  pty?: { rows: number; cols: number } | undefined;
}

/** Why a process ended: on its own, by a signal, by its timeout, after an interrupt, or by the OOM killer. */
export type ExitReason = "exited" | "signaled" | "timed_out" | "interrupted" | "oom_killed";

/** How a process ended: reason, exit code or signal, and how long it ran. */
export interface ExecExit {
  reason: ExitReason;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
}

/** A piece of a process's output log; `cursor` is the position of its first byte. */
export interface ExecChunk {
  stream: "stdout" | "stderr";
  data: Buffer;
  cursor: number;
}

/** One process in a runner: state, command, exit, and its output log's extent. */
export interface ExecInfo {
  execId: string;
  pid: number;
  state: "running" | "exited";
  command: string;
  cwd: string;
  stdinOpen: boolean;
  /** It runs on a pseudo-terminal (exec_resize changes its size). */
  pty: boolean;
  exit: ExecExit | null;
  startedAtMs: number;
  endedAtMs: number;
  /** Every byte written so far (the end of the log), and the first byte the log still holds. */
  endCursor: number;
  startCursor: number;
}

/** What following a process reports: its start, output, output lost to the cap, quiet-time keepalives, its end. */
export type ExecEvent =
  | { type: "started"; execId: string }
  | ({ type: "output" } & ExecChunk)
  | { type: "dropped"; cursor: number; bytes: number }
  | { type: "keepalive"; cursor: number }
  | ({ type: "exited" } & ExecExit);

/** A stretch of a process's output log read by cursor, and the process as it is now. */
export interface ExecOutputPage {
  chunks: ExecChunk[];
  droppedBytes: number;
  nextCursor: number;
  eof: boolean;
  exec: ExecInfo;
}
