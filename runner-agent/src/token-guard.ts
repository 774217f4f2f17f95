import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY } from "@devhatchery/proto/contract";
import type { AgentToken } from "./agent-token.js";
import type { Logger } from "./log.js";

/**
 * A gRPC server interceptor that rejects every call not carrying the runner's current token. The token is checked
 * when a call starts: a rotation refuses the old token to new calls and leaves calls already running alone.
 */
export function createTokenGuard(token: AgentToken, log: Logger): ServerInterceptor {
  return (methodDescriptor, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (token.matches(metadata.get(AGENT_AUTH_METADATA_KEY)[0])) {
          next(metadata);
          return;
        }
        log.warn({ method: methodDescriptor.path }, "rejected a call without a valid runner token");
        call.sendStatus({
          code: status.UNAUTHENTICATED,
          details: "missing or invalid runner token: send `authorization: Bearer <token>` metadata",
          metadata: new Metadata(),
        });
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
