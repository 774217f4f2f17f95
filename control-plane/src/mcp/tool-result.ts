import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { asControlPlaneError, type ControlPlaneError, type ErrorCode } from "../errors.js";

/**
 * Control-plane error code → what the model should do next, for an error raised without a hint of its own: the
 * fallback of the one mapping from errors to tool and resource results (recoveryHint).
 */
export const RECOVERY_BY_CODE: Record<ErrorCode, string> = {
  INVALID_ARGUMENT: "Correct the argument named above and call the tool again.",
  NOT_FOUND:
    "Check the path or name above: fs_list shows what a folder in the runner holds, runner_list shows your runners.",
  ALREADY_EXISTS: "Choose another name or remove the existing one first.",
  PERMISSION_DENIED:
    "Not allowed, as the message says (file permissions in the runner, or the operator's mount policy); choose another path or mode, or fix the permissions with exec.",
  FAILED_PRECONDITION: "The target is not in the state this call needs; inspect it (fs_list) and adjust the call.",
  ETAG_MISMATCH:
    "The file changed (or was removed) since you read it: fs_read it again for its current content and etag, reapply your change to that content, and retry with the new etag as if_match.",
  RESOURCE_EXHAUSTED: "Ask for less at once (a smaller range or file), or free space in the runner.",
  UNAUTHENTICATED: "Reconnect with a valid bearer token.",
  IMAGE_NOT_FOUND: "Use an image that exists locally or can be pulled, or omit image to use the default.",
  IMAGE_PULL_FAILED:
    "The registry refused or could not be reached, as the message says; use a local image, or ask the operator to log in to the registry or prepull it.",
  IDEMPOTENCY_CONFLICT:
    "This idempotency_key was already used for a different request (or its runner is gone); use a new key for a new request.",
  VOLUME_IN_USE: "Remove the runners that use this workspace first (runner_remove), then remove the volume.",
  POLICY_DENIED:
    "The operator's policy refuses this, as the message says; ask for less (see the limit named) or a permitted value.",
  QUOTA_EXCEEDED:
    "You are at a quota, as the message says: free what it names as it says (stop, pause or remove runners; remove snapshots or workspaces; delete files in /work; export less), then retry; system_status shows your usage of each quota.",
  RUNNER_START_FAILED: "Nothing was left behind; fix the cause above and call runner_spawn again.",
  RUNNER_UNAVAILABLE:
    "runner_attach starts a stopped runner again (a workspace volume /work is kept; a tmpfs /work starts empty); runner_list shows each runner's status and error.",
  DOCKER_UNAVAILABLE: "The host's Docker engine is down; retry later or tell the operator.",
  TIMEOUT: "Retry; if it keeps timing out, allow more time or do less per call.",
  CANCELLED: "The call was cancelled; call again if you still need it.",
  INTERNAL: "Retry once; if it fails again, report it to the operator.",
};

/** What the model should do next: the hint the raise site wrote, else its code's generic one. */
export function recoveryHint(error: ControlPlaneError): string {
  return error.hint ?? RECOVERY_BY_CODE[error.code];
}

/** A successful result: structured content plus a short text rendering for clients that show text. */
export function toolSuccess<T extends Record<string, unknown>>(structured: T, text: string): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

/** A failed result the model can act on: what failed, and how to recover. Unexpected errors reveal nothing. */
export function toolFailure(error: unknown): CallToolResult {
  const failure = asControlPlaneError(error);
  return {
    isError: true,
    content: [{ type: "text", text: `Error ${failure.code}: ${failure.message}\n${recoveryHint(failure)}` }],
  };
}
