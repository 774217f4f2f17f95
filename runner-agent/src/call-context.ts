import { AsyncLocalStorage } from "node:async_hooks";
import {
  ServerInterceptingCall,
  ServerListenerBuilder,
  ResponderBuilder,
  type Metadata,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import { AGENT_CORRELATION_METADATA_KEY } from "@devhatchery/proto/contract";

interface CallContext {
  correlationId: string;
}

/** What the control plane may send as a correlation id; anything else is ignored rather than logged. */
const SAFE_CORRELATION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const storage = new AsyncLocalStorage<CallContext>();

function correlationIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get(AGENT_CORRELATION_METADATA_KEY)[0];
  return typeof value === "string" && SAFE_CORRELATION_ID.test(value) ? value : undefined;
}

/** The correlation id of the call being served (undefined outside calls and for calls that sent none). */
export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/**
 * A gRPC server interceptor that runs each call's handler (and whatever it starts) with the call's correlation id
 * (metadata `x-devhatchery-correlation-id`) as the current one, so the log lines about that call carry it.
 */
export function createCallContextInterceptor(): ServerInterceptor {
  return (_methodDescriptor, call) => {
    let context: CallContext | undefined;
    const inContext = (work: () => void): void => (context ? storage.run(context, work) : work());
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const correlationId = correlationIdOf(metadata);
        if (correlationId) context = { correlationId };
        inContext(() => next(metadata));
      })
      .withOnReceiveMessage((message, next) => inContext(() => next(message)))
      .withOnReceiveHalfClose((next) => inContext(() => next()))
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
