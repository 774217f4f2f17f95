import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { correlationIdFrom, runWithRequestContext } from "../request-context.js";
import type { AppEnv } from "./auth-middleware.js";

const tracer = trace.getTracer("devhatchery-control-plane");

/**
 * Gives every request its correlation id (the client's X-Request-Id when it is safe: letters, digits and `._:-`,
 * at most 64 characters; else a fresh one), echoes it as X-Request-Id and serves the request inside a request
 * context (log lines, audit records, agent calls) and a server span when tracing is on.
 */
export function createRequestContextMiddleware(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const correlationId = correlationIdFrom(c.req.header("x-request-id"));
    c.set("requestId", correlationId);
    c.header("x-request-id", correlationId);
    const span = tracer.startSpan(`HTTP ${c.req.method}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": c.req.method,
        "url.path": c.req.path,
        "devhatchery.correlation_id": correlationId,
      },
    });
    try {
      await runWithRequestContext({ correlationId }, () => context.with(trace.setSpan(context.active(), span), next));
    } finally {
      span.setAttribute("http.response.status_code", c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
