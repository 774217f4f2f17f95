import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { AsyncContextManager } from "./async-context-manager.js";

export interface Tracing {
  /** Exports the spans still buffered and stops tracing. */
  shutdown(): Promise<void>;
}

/**
 * Turns on OpenTelemetry tracing: spans (HTTP request → MCP request → runtime operation → agent call) are batched
 * and sent as OTLP/HTTP JSON to `endpoint` (e.g. http://127.0.0.1:4318/v1/traces). Registers the global tracer
 * provider and an AsyncLocalStorage context manager; until this is called every span is a no-op.
 */
export function startTracing(endpoint: string, serviceVersion: string): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": "devhatchery-control-plane",
      "service.version": serviceVersion,
    }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: endpoint }), scheduledDelayMillis: 1_000 }),
    ],
  });
  const contextManager = new AsyncContextManager();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
