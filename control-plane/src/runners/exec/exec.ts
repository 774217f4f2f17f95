import type { ExecExit, ExecInfo } from "../../agent-client/exec-info.js";

export type { ExecChunk, ExecExit, ExecInfo } from "../../agent-client/exec-info.js";

export interface ExecCommand {
  /** A command string (run by `/bin/sh -lc`) or a program with its arguments. */
  command: string | string[];
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
  /** Text written to stdin first. */
  stdin?: string | undefined;
  /** Keep stdin open after `stdin` so later writes can feed it; otherwise it is closed. */
  stdinOpen?: boolean | undefined;
  /** Run on a pseudo-terminal of this size: one output stream (stdout), stdin always open. */
  pty?: { rows: number; cols: number } | undefined;
}

export interface ExecOutputChunk {
  /** The process's id in its runner (exec_read takes it). */
  execId: string;
  stream: "stdout" | "stderr";
  text: string;
  /** Where this chunk's bytes start in the process's output (an exec_read cursor). */
  cursor: number;
  /** Bytes of output received so far, both streams together. */
  totalBytes: number;
}

/** An exec call's outcome: the process ended (exit set) or is still running (exit null) after the yield time. */
export interface ExecOutcome {
  execId: string;
  state: "running" | "exited";
  exit: ExecExit | null;
  stdout: string;
  stderr: string;
  /** Bytes cut from the middle of stdout and stderr together (the markers say where to read them). */
  omittedBytes: number;
  /** Bytes the agent's output cap dropped before they were read. */
  droppedBytes: number;
  /** Where exec_read continues: every byte before it is in stdout/stderr above, omitted or dropped. */
  nextCursor: number;
}

/** Output after a cursor, split by stream, with where to continue. */
export interface ExecRead {
  exec: ExecInfo;
  stdout: string;
  stderr: string;
  cursor: number;
  nextCursor: number;
  droppedBytes: number;
  /** The process has ended and nextCursor is the end of its output. */
  eof: boolean;
}

/** A live subscription to a process's output; close it (or `await using` it) when done. */
export interface ExecFollower extends AsyncDisposable {
  close(): void;
}
