import { InterceptingCall, ListenerBuilder, RequesterBuilder, status, type Interceptor } from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Logger } from "../log.js";
import { currentRequestContext } from "../request-context.js";
import { hidesDetails } from "./grpc-errors.js";

const tracer = trace.getTracer("devhatchery-control-plane");

/**
 * A gRPC client interceptor that traces every agent call as a client span named after its method, a child of the
 * current span (the tool call), with the request's correlation id. Without a tracer provider the spans are no-ops.
 * With a logger, failures whose details the client is not shown (connection errors with addresses) are logged here
 * with the request's id, which the client's message names.
 */
export const createAgentCallInterceptor =
  (runnerId: string, log?: Logger): Interceptor =>
  (options, nextCall) => {
    const method = options.method_definition.path;
    const correlationId = currentRequestContext()?.correlationId;
    const span = tracer.startSpan(`agent ${method}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": "grpc",
        "rpc.method": method,
        ...(correlationId ? { "devhatchery.correlation_id": correlationId } : {}),
      },
    });
    const requester = new RequesterBuilder()
      .withStart((metadata, listener, next) => {
        const onStatus = new ListenerBuilder()
          .withOnReceiveStatus((result, nextStatus) => {
            span.setAttribute("rpc.grpc.status_code", result.code);
            if (result.code !== status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: result.details });
            if (result.code !== status.OK && hidesDetails(result.code)) {
              log?.warn(
                {
                  runner: runnerId,
                  method,
                  grpcStatus: result.code,
                  details: result.details,
                  requestId: correlationId,
                },
                "agent call failed",
              );
            }
            span.end();
            nextStatus(result);
          })
          .build();
        next(metadata, { ...listener, ...onStatus });
      })
      .build();
    return new InterceptingCall(nextCall(options), requester);
  };
