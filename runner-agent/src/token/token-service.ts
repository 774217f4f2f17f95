import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY } from "@devhatchery/proto/contract";
import type { RotateRequest, RotateResponse, TokenServiceServer } from "@devhatchery/proto/agent/v1/token";
import type { AgentToken } from "../agent-token.js";
import { toGrpcError } from "../errors.js";
import type { Logger } from "../log.js";

/** The gRPC adapter for TokenService: Rotate swaps the agent's token (guard and debug endpoint alike). */
export function createTokenService(token: AgentToken, log: Logger): TokenServiceServer {
  return {
    rotate(call: ServerUnaryCall<RotateRequest, RotateResponse>, callback: sendUnaryData<RotateResponse>): void {
      try {
        const fingerprint = token.rotate(call.request.newToken, call.metadata.get(AGENT_AUTH_METADATA_KEY)[0]);
        // The fingerprint only: the token itself is never logged.
        log.info({ fingerprint }, "runner token rotated");
        callback(null, { fingerprint });
      } catch (error) {
        log.warn({ err: error }, "runner token not rotated");
        callback(toGrpcError(error));
      }
    },
  };
}
