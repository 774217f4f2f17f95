import type { OutputStreamName } from "./output-chunk.js";

/** What to run and how; every field is already validated and resolved. */
export interface LaunchSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  uid: number | undefined;
  gid: number | undefined;
  terminal: { rows: number; cols: number } | undefined;
}

/** Where a launched process reports to. */
export interface ProcessIoEvents {
  onOutput(stream: OutputStreamName, data: Buffer): void;
  /** Called once, after the process exited and its output was drained (or the drain gave up). */
  onExit(exitCode: number | null, signal: NodeJS.Signals | null): void;
}

/** A running process's I/O, whether on pipes or on a pseudo-terminal. */
export interface ProcessIo {
  readonly pid: number;
  /** Resolves once the bytes were handed to the process (its pipe or terminal accepted them). */
  write(data: Buffer): Promise<void>;
  closeStdin(): void;
  pauseOutput(): void;
  resumeOutput(): void;
  /** Only for a terminal; the manager checks before calling. */
  resize(rows: number, cols: number): void;
}

/**
 * How long to wait for the output to close after the process exited: background children may hold the pipes or the
 * terminal open, and the process's end must not wait for theirs.
 */
export const OUTPUT_DRAIN_MS = 500;
