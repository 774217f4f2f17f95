import { createHash, timingSafeEqual } from "node:crypto";
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY } from "@devhatchery/proto/contract";
import type { Logger } from "./log.js";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** Compares a presented `Bearer <token>` header with the runner's token in constant time. */
export function isAuthorizedHeader(header: unknown, expectedDigest: Buffer): boolean {
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return false;
  return timingSafeEqual(digest(header.slice("Bearer ".length)), expectedDigest);
}

/** A gRPC server interceptor that rejects every call not carrying the runner's token. */
export function createTokenGuard(token: string, log: Logger): ServerInterceptor {
  const expected = digest(token);
  return (methodDescriptor, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (isAuthorizedHeader(metadata.get(AGENT_AUTH_METADATA_KEY)[0], expected)) {
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
