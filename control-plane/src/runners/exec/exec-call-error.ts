import { ControlPlaneError, type ErrorCode } from "../../errors.js";

/** A call on one process of a runner: what the process was asked to do. */
export type ExecCall = "read" | "write" | "signal" | "resize";

const NOT_FOUND_HINT =
  "exec_list shows this runner's processes, each with its exec_id; a process reaped since has lost its output, so run the command again with exec.";

/** Per call and code, how to recover: the agent's message says what failed, only this layer knows which tools help. */
const HINT_BY_CALL: Record<ExecCall, Partial<Record<ErrorCode, string>>> = {
  read: { NOT_FOUND: NOT_FOUND_HINT },
  write: {
    NOT_FOUND: NOT_FOUND_HINT,
    FAILED_PRECONDITION:
      "exec_read shows whether the process has ended and what it wrote; to feed it more input, run the command again with exec and stdin_open: true.",
  },
  resize: {
    NOT_FOUND: NOT_FOUND_HINT,
    FAILED_PRECONDITION:
      "Only a process started with exec and pty: true has a terminal to resize, and only while it runs (exec_list shows which do).",
  },
  signal: {
    NOT_FOUND: NOT_FOUND_HINT,
    FAILED_PRECONDITION:
      "The process has ended, so there is nothing to stop: exec_read returns its exit status and remaining output.",
  },
};

/** The agent's error for a call on one exec, with the recovery hint for that call when its code has one. */
export function execCallError(error: unknown, call: ExecCall): unknown {
  if (!(error instanceof ControlPlaneError) || error.hint !== undefined) return error;
  const hint = HINT_BY_CALL[call][error.code];
  return hint === undefined ? error : new ControlPlaneError(error.code, error.message, { cause: error, hint });
}
