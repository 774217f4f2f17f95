import { ErrorCode as JsonRpcCode } from "@modelcontextprotocol/sdk/types.js";
import { asControlPlaneError, type ErrorCode } from "../../errors.js";
import { recoveryHint } from "../tool-result.js";

/** MCP's code for an unknown resource (the specification's -32002). */
export const RESOURCE_NOT_FOUND = -32002;

const JSON_RPC_CODE_BY_CODE: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: RESOURCE_NOT_FOUND,
  INVALID_ARGUMENT: JsonRpcCode.InvalidParams,
  RESOURCE_EXHAUSTED: JsonRpcCode.InvalidParams,
  FAILED_PRECONDITION: JsonRpcCode.InvalidParams,
  PERMISSION_DENIED: JsonRpcCode.InvalidParams,
};

/**
 * A failed resource request as the JSON-RPC error the client gets: the code by kind, the message saying what
 * failed and how to recover, and the control-plane code in `data`. The SDK sends `code` and `message` as they are.
 */
export class ResourceRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: { code: ErrorCode },
  ) {
    super(message);
    this.name = "ResourceRequestError";
  }
}

/** Control-plane error → resource request error: the one mapping for resources/read and resources/subscribe. */
export function toResourceError(error: unknown): ResourceRequestError {
  if (error instanceof ResourceRequestError) return error;
  const failure = asControlPlaneError(error);
  const code = JSON_RPC_CODE_BY_CODE[failure.code] ?? JsonRpcCode.InternalError;
  return new ResourceRequestError(code, `${failure.code}: ${failure.message} ${recoveryHint(failure)}`, {
    code: failure.code,
  });
}
