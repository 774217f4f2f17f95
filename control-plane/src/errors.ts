/** Stable error codes of the control plane; callers branch on these, never on message text. */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "FAILED_PRECONDITION"
  /** An `if_match` etag names a version of a file that is no longer there: re-read, reapply, retry. */
  | "ETAG_MISMATCH"
  | "RESOURCE_EXHAUSTED"
  | "UNAUTHENTICATED"
  | "IMAGE_NOT_FOUND"
  /** The registry refused the pull (credentials) or could not be reached. */
  | "IMAGE_PULL_FAILED"
  /** An idempotency key was used before with different arguments, or its runner is gone. */
  | "IDEMPOTENCY_CONFLICT"
  /** A workspace volume is still mounted by a runner. */
  | "VOLUME_IN_USE"
  /** A limit of the operator's policy (cpu, memory, pids, runner count, image, profile) refuses the request. */
  | "POLICY_DENIED"
  /** A principal's quota (running runners, their cpus or memory, snapshots) would be exceeded, or a disk quota is full. */
  | "QUOTA_EXCEEDED"
  | "RUNNER_START_FAILED"
  | "RUNNER_UNAVAILABLE"
  /**
   * The container engine cannot be reached, whichever engine runs the runners. The name is part of the client-visible
   * contract (tool errors, system_status, docs), so it stays; only runtime/ raises it (docker-errors.ts).
   */
  | "DOCKER_UNAVAILABLE"
  | "TIMEOUT"
  | "CANCELLED"
  | "INTERNAL";

/** How a ControlPlaneError is raised besides its code and message. */
export interface ControlPlaneErrorOptions {
  cause?: unknown;
  /**
   * What the model should do next, written by the code that knows why the call failed (e.g. "snapshot_list shows your
   * snapshots"). Without it the tool result falls back to the generic recovery hint of the error's code.
   */
  hint?: string;
}

/** The control plane's one error type: a code, a message that says what failed and how to fix it, and the cause. */
export class ControlPlaneError extends Error {
  /** The raise site's recovery hint, when it knows better than the per-code fallback. */
  readonly hint: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ControlPlaneErrorOptions = {},
  ) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "ControlPlaneError";
    this.hint = options.hint;
  }
}

/** Wraps anything thrown into a ControlPlaneError, keeping one that already is. */
export function asControlPlaneError(error: unknown): ControlPlaneError {
  if (error instanceof ControlPlaneError) return error;
  return new ControlPlaneError("INTERNAL", "Unexpected internal error; the control plane log has the details.", {
    cause: error,
  });
}
