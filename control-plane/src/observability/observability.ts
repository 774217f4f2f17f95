import type { AuditLog } from "../audit.js";
import type { ControlPlaneConfig } from "../config.js";
import { createAuditLog, type ClosableAuditLog } from "./audit-log.js";
import { createMeteredAuditLog } from "./metered-audit-log.js";
import { PrometheusMetrics } from "./prometheus-metrics.js";
import { traceMethods } from "./traced-methods.js";
import { startTracing, type Tracing } from "./tracing.js";

/** The operator's signals, built once by the composition root. */
export interface Observability {
  /** For the domain services: the audit trail, also counting the events that are metrics. */
  audit: AuditLog;
  metrics: PrometheusMetrics;
  /** `target` with a span per async method call when tracing is on; `target` itself otherwise. */
  traced<T extends object>(target: T, component: string): T;
  /** Flushes and closes the audit log and exports the spans still buffered. */
  close(): Promise<void>;
}

/** Opens the audit log, creates the metrics registry and, when an OTLP endpoint is configured, starts tracing. */
export function createObservability(
  config: Pick<ControlPlaneConfig, "auditLog" | "otlpEndpoint">,
  version: string,
  countActiveRunners: () => Promise<number>,
): Observability {
  const auditLog: ClosableAuditLog = createAuditLog(config.auditLog);
  const metrics = new PrometheusMetrics(countActiveRunners);
  const tracing: Tracing | undefined = config.otlpEndpoint ? startTracing(config.otlpEndpoint, version) : undefined;
  return {
    audit: createMeteredAuditLog(auditLog, metrics),
    metrics,
    traced: (target, component) => (tracing ? traceMethods(target, component) : target),
    async close() {
      auditLog.close();
      await tracing?.shutdown();
    },
  };
}
