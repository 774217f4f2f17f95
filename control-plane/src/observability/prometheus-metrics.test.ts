import { describe, expect, it } from "vitest";
import { createMeteredAuditLog } from "./metered-audit-log.js";
import { PrometheusMetrics } from "./prometheus-metrics.js";
import { NO_AUDIT } from "../audit.js";

async function sample(metrics: PrometheusMetrics, line: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const found = text.split("\n").find((entry) => entry.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("PrometheusMetrics", () => {
  it("counts domain work with bounded labels in its own registry", async () => {
    const metrics = new PrometheusMetrics(async () => 3);
    metrics.execEnded("success", 1500);
    metrics.execEnded("nonzero_exit", 20);
    metrics.execEnded("error", undefined);
    metrics.fsOperation("write");
    metrics.fsOperation("write");
    metrics.bytesStreamed("to_runner", 100);
    metrics.bytesStreamed("from_runner", 0);
    metrics.authFailed("invalid");
    metrics.httpRequest("POST", "/mcp", 200, 0.003);
    expect(await sample(metrics, 'devhatchery_exec_total{outcome="success"}')).toBe(1);
    expect(await sample(metrics, 'devhatchery_exec_total{outcome="error"}')).toBe(1);
    expect(await sample(metrics, "devhatchery_exec_duration_seconds_count")).toBe(2);
    expect(await sample(metrics, "devhatchery_exec_duration_seconds_sum")).toBe(1.52);
    expect(await sample(metrics, 'devhatchery_fs_operations_total{op="write"}')).toBe(2);
    expect(await sample(metrics, 'devhatchery_bytes_streamed_total{direction="to_runner"}')).toBe(100);
    expect(await sample(metrics, 'devhatchery_bytes_streamed_total{direction="from_runner"}')).toBeUndefined();
    expect(await sample(metrics, 'devhatchery_auth_failures_total{reason="invalid"}')).toBe(1);
    expect(
      await sample(metrics, 'devhatchery_http_request_duration_seconds_count{method="POST",route="/mcp",status="200"}'),
    ).toBe(1);
    expect(await sample(metrics, "devhatchery_runners_active")).toBe(3);
    expect(await sample(metrics, "devhatchery_process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("keeps two registries apart (never the global default)", async () => {
    const first = new PrometheusMetrics(async () => 0);
    const second = new PrometheusMetrics(async () => 0);
    first.fsOperation("read");
    expect(await sample(first, 'devhatchery_fs_operations_total{op="read"}')).toBe(1);
    expect(await sample(second, 'devhatchery_fs_operations_total{op="read"}')).toBeUndefined();
  });

  it("shows the last measured usage of each quota, all principals together", async () => {
    const metrics = new PrometheusMetrics(async () => 0);
    expect(await sample(metrics, 'devhatchery_quota_usage{quota="workspace_disk_mb"}')).toBeUndefined();
    metrics.quotaUsage("workspace_disk_mb", 2.5);
    metrics.quotaUsage("running_runners", 4);
    metrics.quotaUsage("workspace_disk_mb", 1.25);
    expect(await sample(metrics, 'devhatchery_quota_usage{quota="workspace_disk_mb"}')).toBe(1.25);
    expect(await sample(metrics, 'devhatchery_quota_usage{quota="running_runners"}')).toBe(4);
  });

  it("caches the active runner count across scrapes and keeps the last one when Docker fails", async () => {
    let calls = 0;
    let fail = false;
    const metrics = new PrometheusMetrics(async () => {
      calls++;
      if (fail) throw new Error("docker down");
      return 2;
    });
    expect(await sample(metrics, "devhatchery_runners_active")).toBe(2);
    fail = true;
    expect(await sample(metrics, "devhatchery_runners_active")).toBe(2);
    expect(calls).toBe(1);
  });

  it("counts runner spawns from the audit events the domain records", async () => {
    const metrics = new PrometheusMetrics(async () => 0);
    const audit = createMeteredAuditLog(NO_AUDIT, metrics);
    audit.record({ action: "runner.spawn", principal: "alice", outcome: "ok" });
    audit.record({ action: "runner.spawn", principal: "alice", outcome: "failed" });
    audit.record({ action: "policy.denied", principal: "alice", outcome: "denied", request: "runner.spawn" });
    audit.record({ action: "runner.stop", principal: "alice", outcome: "ok" });
    expect(await sample(metrics, 'devhatchery_runner_spawns_total{outcome="ok"}')).toBe(1);
    expect(await sample(metrics, 'devhatchery_runner_spawns_total{outcome="failed"}')).toBe(1);
    expect(await sample(metrics, 'devhatchery_runner_spawns_total{outcome="denied"}')).toBe(1);
  });
});
