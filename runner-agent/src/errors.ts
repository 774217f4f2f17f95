import { status } from "@grpc/grpc-js";

export type AgentErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "FAILED_PRECONDITION"
  /** A failed test-and-set: an `if_match` etag that is not the file's current one (or the file is gone). */
  | "ABORTED"
  | "RESOURCE_EXHAUSTED"
  | "UNAUTHENTICATED"
  | "INTERNAL";

/** The agent's one error type: a stable code, a message that says how to fix it, and the cause. */
export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AgentError";
  }
}

/** Agent error code → gRPC status: the one mapping at this boundary. */
export const GRPC_STATUS_BY_CODE: Record<AgentErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  ABORTED: status.ABORTED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  INTERNAL: status.INTERNAL,
};

const CODE_BY_ERRNO: Record<string, AgentErrorCode> = {
  ENOENT: "NOT_FOUND",
  EACCES: "PERMISSION_DENIED",
  EPERM: "PERMISSION_DENIED",
  EROFS: "PERMISSION_DENIED",
  EEXIST: "ALREADY_EXISTS",
  EISDIR: "FAILED_PRECONDITION",
  ENOTDIR: "FAILED_PRECONDITION",
  ENOTEMPTY: "FAILED_PRECONDITION",
  ENOSPC: "RESOURCE_EXHAUSTED",
  EDQUOT: "RESOURCE_EXHAUSTED",
  EMFILE: "RESOURCE_EXHAUSTED",
  ENAMETOOLONG: "INVALID_ARGUMENT",
  ELOOP: "INVALID_ARGUMENT",
};

/** Reasons said in our words: Node's own text repeats the path, which may be 64 KiB long. */
const REASON_BY_ERRNO: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENAMETOOLONG: `the path is too long (at most ${4096} bytes, and ${255} bytes per name); use a shorter path`,
  ELOOP: "too many levels of symbolic links; resolve the link chain or name the target directly",
};

/** The longest quoted value or reason a message carries: gRPC sends details in a trailer, which has a size limit. */
const QUOTED_MAX_CHARS = 256;
/** The longest details string sent at all. */
const DETAILS_MAX_CHARS = 4096;

/** A value for a message: as it is when short, else its head and tail with the length, so messages stay small. */
export function quotable(value: string): string {
  if (value.length <= QUOTED_MAX_CHARS) return value;
  return `${value.slice(0, 160)}…${value.slice(-64)} (${value.length} characters)`;
}

/** Turns a Node system error about `path` into an AgentError with a message naming the path. */
export function fromSystemError(error: unknown, what: string, path: string): AgentError {
  if (error instanceof AgentError) return error;
  // Node refuses such a path itself (ERR_INVALID_ARG_VALUE) before any system call: the caller's input, not ours.
  if (path.includes("\0")) {
    return new AgentError(
      "INVALID_ARGUMENT",
      `Cannot ${what} "${quotable(path.replaceAll("\0", "\\0"))}": a path cannot contain a NUL byte; remove it.`,
      { cause: error },
    );
  }
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const code = CODE_BY_ERRNO[errno] ?? "INTERNAL";
  const reason = REASON_BY_ERRNO[errno] ?? quotable((error as Error).message);
  return new AgentError(code, `Cannot ${what} "${quotable(path)}": ${reason}`, { cause: error });
}

/** The gRPC error for anything a handler throws; unexpected errors become INTERNAL with no details leaked. */
export function toGrpcError(error: unknown): Error & { code: status; details: string } {
  const { code, details } =
    error instanceof AgentError
      ? {
          code: GRPC_STATUS_BY_CODE[error.code],
          details:
            error.message.length > DETAILS_MAX_CHARS ? `${error.message.slice(0, DETAILS_MAX_CHARS)}…` : error.message,
        }
      : { code: status.INTERNAL, details: "internal agent error; see the agent log" };
  return Object.assign(new Error(details), { code, details });
}
