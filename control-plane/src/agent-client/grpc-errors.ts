import { status, type ServiceError } from "@grpc/grpc-js";
import { ControlPlaneError, type ErrorCode } from "../errors.js";
import { logReference } from "../request-context.js";

/** gRPC status from the agent → control-plane error code: the one mapping at this boundary. */
export const ERROR_CODE_BY_STATUS: Partial<Record<status, ErrorCode>> = {
  [status.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [status.NOT_FOUND]: "NOT_FOUND",
  [status.ALREADY_EXISTS]: "ALREADY_EXISTS",
  [status.PERMISSION_DENIED]: "PERMISSION_DENIED",
  [status.FAILED_PRECONDITION]: "FAILED_PRECONDITION",
  // The agent's failed test-and-set: an `if_match` etag that is no longer the file's.
  [status.ABORTED]: "ETAG_MISMATCH",
  [status.RESOURCE_EXHAUSTED]: "RESOURCE_EXHAUSTED",
  [status.OUT_OF_RANGE]: "INVALID_ARGUMENT",
  [status.UNAVAILABLE]: "RUNNER_UNAVAILABLE",
  [status.DEADLINE_EXCEEDED]: "TIMEOUT",
  [status.CANCELLED]: "CANCELLED",
};

/** The agent writes its messages for people; these codes pass them through unchanged. */
const AGENT_MESSAGE_CODES = new Set<ErrorCode>([
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "FAILED_PRECONDITION",
  "ETAG_MISMATCH",
  "RESOURCE_EXHAUSTED",
]);

/**
 * Statuses whose details the client is not shown (connection errors with addresses, DNS, internal errors): they are
 * logged instead. Timeouts and cancellations say all there is in their message.
 */
export function hidesDetails(grpcStatus: status): boolean {
  const code = ERROR_CODE_BY_STATUS[grpcStatus];
  return code === undefined || code === "RUNNER_UNAVAILABLE";
}

/**
 * Converts an error from an agent call into a ControlPlaneError naming the runner. Only the agent's own messages
 * (the codes above) reach the client; connection details ("connect ECONNREFUSED 172.18.0.3:7070", name resolution)
 * stay in the control plane log (the agent call interceptor writes them) and the message points there.
 */
export function fromGrpcError(error: unknown, runnerId: string): ControlPlaneError {
  if (error instanceof ControlPlaneError) return error;
  const grpcStatus = (error as Partial<ServiceError>).code;
  const code = grpcStatus === undefined ? "INTERNAL" : (ERROR_CODE_BY_STATUS[grpcStatus] ?? "INTERNAL");
  const details = (error as Partial<ServiceError>).details ?? "";
  if (AGENT_MESSAGE_CODES.has(code)) return new ControlPlaneError(code, details, { cause: error });
  if (code === "RUNNER_UNAVAILABLE") {
    return new ControlPlaneError(
      code,
      `Runner "${runnerId}" is not answering; its agent may have stopped or the runner may be gone. Check it with runner_list, or spawn a new one with runner_spawn. ${logReference()}`,
      { cause: error },
    );
  }
  if (code === "TIMEOUT")
    return new ControlPlaneError(code, `Runner "${runnerId}" did not answer in time.`, { cause: error });
  if (code === "CANCELLED") return new ControlPlaneError(code, "The call was cancelled.", { cause: error });
  if (grpcStatus === status.UNAUTHENTICATED) {
    return new ControlPlaneError(
      "RUNNER_UNAVAILABLE",
      `Runner "${runnerId}" rejected the control plane's token; remove it and spawn a new one.`,
      {
        cause: error,
        hint: "Starting it again will not help: runner_remove deletes it (its workspace is kept), then runner_spawn or runner_attach with the workspace_key gives you a new one.",
      },
    );
  }
  return new ControlPlaneError("INTERNAL", `Runner "${runnerId}" failed with an internal error. ${logReference()}`, {
    cause: error,
  });
}
