import type { AuditEvent, AuditLog } from "../audit.js";
import type { PrometheusMetrics } from "./prometheus-metrics.js";

/**
 * The audit log the domain gets: each record goes to `audit`, and the events that are also metrics (runner spawns
 * by outcome, a spawn refused by policy counting as "denied") are counted, so the domain reports a spawn once.
 */
export function createMeteredAuditLog(audit: AuditLog, metrics: PrometheusMetrics): AuditLog {
  return {
    record(event: AuditEvent): void {
      if (event.action === "runner.spawn") metrics.runnerSpawned(event.outcome);
      else if (event.action === "policy.denied" && event.request === "runner.spawn") metrics.runnerSpawned("denied");
      audit.record(event);
    },
  };
}
