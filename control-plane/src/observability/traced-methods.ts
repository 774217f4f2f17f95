import { SpanStatusCode, trace } from "@opentelemetry/api";
import { currentRequestContext } from "../request-context.js";

const tracer = trace.getTracer("devhatchery-control-plane");

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === "function";
}

/**
 * The same object, except that each async method call is a span named `<component> <method>` (child of the current
 * span, with the request's correlation id). Used for the container runtime: spawn's pull, create and start show up
 * in a tool call's trace without the runtime knowing about tracing.
 */
export function traceMethods<T extends object>(target: T, component: string): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function" || typeof property !== "string" || property === "constructor") return value;
      return function (this: unknown, ...args: unknown[]): unknown {
        const correlationId = currentRequestContext()?.correlationId;
        return tracer.startActiveSpan(
          `${component} ${property}`,
          { attributes: correlationId ? { "devhatchery.correlation_id": correlationId } : {} },
          (span) => {
            let result: unknown;
            try {
              result = (value as (...inner: unknown[]) => unknown).apply(this === receiver ? object : this, args);
            } catch (error) {
              span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
              span.end();
              throw error;
            }
            if (!isPromise(result)) {
              span.end();
              return result;
            }
            return result.then(
              (resolved) => {
                span.end();
                return resolved;
              },
              (error: unknown) => {
                span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
                span.end();
                throw error;
              },
            );
          },
        );
      };
    },
  });
}
