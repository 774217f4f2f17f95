import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuthFailureReason } from "../auth/authenticator.js";
import type { QuotaName } from "../config.js";
import type { ExecOutcomeLabel, FsOperationLabel, Meter } from "../meter.js";

/** How long a count of active runners (one Docker list call) is reused across scrapes. */
const ACTIVE_RUNNERS_CACHE_MS = 5_000;

export type SpawnOutcomeLabel = "ok" | "failed" | "denied";

/** Why authentication failed: no credentials at all, or credentials that match no principal. */
export type { AuthFailureReason };

/**
 * The control plane's Prometheus metrics in a registry of their own (never the global default). Labels are bounded
 * sets (outcomes, operations, HTTP method, route pattern, status): never runner ids, principals or paths.
 */
export class PrometheusMetrics implements Meter {
  readonly registry = new Registry();
  private readonly spawns: Counter<"outcome">;
  private readonly execs: Counter<"outcome">;
  private readonly execDuration: Histogram;
  private readonly fsOperations: Counter<"op">;
  private readonly bytes: Counter<"direction">;
  private readonly authFailures: Counter<"reason">;
  private readonly lifecycle: Counter<"action" | "reason">;
  private readonly garbage: Counter<"kind" | "reason">;
  private readonly quotas: Gauge<"quota">;
  private readonly poolSizes: Gauge<"pool" | "state">;
  private readonly poolClaims: Counter<"pool" | "outcome">;
  private readonly poolRefills: Histogram<"pool">;
  private readonly aptRequests: Counter<"result">;
  private readonly aptBytes: Counter<"source">;
  private readonly httpDuration: Histogram<"method" | "route" | "status">;
  private readonly jobsEnded: Histogram<"status">;
  private readonly jobs: Gauge<"state">;

  /** `countActiveRunners` asks Docker how many runners are running (cached a few seconds across scrapes). */
  constructor(countActiveRunners: () => Promise<number>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "devhatchery_" });
    this.spawns = new Counter({
      name: "devhatchery_runner_spawns_total",
      help: "Runner spawns by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.execs = new Counter({
      name: "devhatchery_exec_total",
      help: "Processes run in runners, by how they ended (error: the call failed).",
      labelNames: ["outcome"],
      registers,
    });
    this.execDuration = new Histogram({
      name: "devhatchery_exec_duration_seconds",
      help: "How long processes ran, from start to exit.",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });
    this.fsOperations = new Counter({
      name: "devhatchery_fs_operations_total",
      help: "Filesystem operations on runners, by operation.",
      labelNames: ["op"],
      registers,
    });
    this.bytes = new Counter({
      name: "devhatchery_bytes_streamed_total",
      help: "Bytes carried between clients and runners (file content, exec output and stdin, exports), by direction.",
      labelNames: ["direction"],
      registers,
    });
    this.lifecycle = new Counter({
      name: "devhatchery_runner_lifecycle_total",
      help: "Runners the control plane stopped or paused on its own (reason idle), or started or resumed for a call that named them (reason call).",
      labelNames: ["action", "reason"],
      registers,
    });
    this.garbage = new Counter({
      name: "devhatchery_gc_deletions_total",
      help: "What garbage collection deleted, by kind (runner, workspace, snapshot, export, agent_volume, helper_container, image) and reason (max_lifetime, retention, unused_agent_version, dangling, unused_pulled_image).",
      labelNames: ["kind", "reason"],
      registers,
    });
    this.quotas = new Gauge({
      name: "devhatchery_quota_usage",
      help: "What all principals together use of each quota (running_runners, cpus, memory_mb, snapshots, workspace_disk_mb, snapshot_mb, export_mb), in its unit (MiB for *_mb), as last measured by a lifecycle pass.",
      labelNames: ["quota"],
      registers,
    });
    this.poolSizes = new Gauge({
      name: "devhatchery_pool_size",
      help: "Runners of each warm pool by state: ready (claimable) or starting (being refilled).",
      labelNames: ["pool", "state"],
      registers,
    });
    this.jobsEnded = new Histogram({
      name: "devhatchery_job_duration_seconds",
      help: "Jobs (job_run) that ended, by status (succeeded, failed, timed_out, cancelled): seconds from submission to the end.",
      labelNames: ["status"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.jobs = new Gauge({
      name: "devhatchery_jobs",
      help: "Jobs by state: queued (waiting for a slot, jobs.max_concurrent) and running.",
      labelNames: ["state"],
      registers,
    });
    this.poolClaims = new Counter({
      name: "devhatchery_pool_claims_total",
      help: "Spawns that matched a warm pool, by outcome: claimed (a ready runner was taken) or miss (the pool was empty; the spawn started cold).",
      labelNames: ["pool", "outcome"],
      registers,
    });
    this.poolRefills = new Histogram({
      name: "devhatchery_pool_refill_seconds",
      help: "How long a warm pool took to get back to its size after claims took it below.",
      labelNames: ["pool"],
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.aptRequests = new Counter({
      name: "devhatchery_apt_cache_requests_total",
      help: "Requests of runners' apt to the apt cache, by result: hit (served from its disk), miss (fetched and kept), pass (fetched, not kept), refused (not a repository request, or a forbidden address).",
      labelNames: ["result"],
      registers,
    });
    this.aptBytes = new Counter({
      name: "devhatchery_apt_cache_bytes_total",
      help: "Bytes the apt cache served from its disk (source cache) and fetched from repositories (source upstream).",
      labelNames: ["source"],
      registers,
    });
    this.authFailures = new Counter({
      name: "devhatchery_auth_failures_total",
      help: "Requests refused at the door: missing, invalid or expired credentials, insufficient scope, a deny policy, or an unreachable identity provider.",
      labelNames: ["reason"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "devhatchery_http_request_duration_seconds",
      help: "HTTP request latency until the response starts (an SSE stream counts until its headers), by matched route.",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
      registers,
    });
    let cached: { value: number; at: number } | undefined;
    new Gauge({
      name: "devhatchery_runners_active",
      help: "Runner containers running on this Docker engine (all principals).",
      registers,
      async collect() {
        if (!cached || Date.now() - cached.at > ACTIVE_RUNNERS_CACHE_MS) {
          // Docker unreachable: keep the last count rather than failing the whole scrape (readiness reports Docker).
          const value = await countActiveRunners().catch(() => cached?.value ?? 0);
          cached = { value, at: Date.now() };
        }
        this.set(cached.value);
      },
    });
  }

  runnerSpawned(outcome: SpawnOutcomeLabel): void {
    this.spawns.inc({ outcome });
  }

  authFailed(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  execEnded(outcome: ExecOutcomeLabel, durationMs: number | undefined): void {
    this.execs.inc({ outcome });
    if (durationMs !== undefined) this.execDuration.observe(durationMs / 1000);
  }

  fsOperation(op: FsOperationLabel): void {
    this.fsOperations.inc({ op });
  }

  bytesStreamed(direction: "to_runner" | "from_runner", bytes: number): void {
    if (bytes > 0) this.bytes.inc({ direction }, bytes);
  }

  runnerLifecycle(action: "stop" | "pause" | "resume" | "start", reason: "idle" | "call"): void {
    this.lifecycle.inc({ action, reason });
  }

  garbageDeleted(kind: string, reason: string): void {
    this.garbage.inc({ kind, reason });
  }

  quotaUsage(quota: QuotaName, used: number): void {
    this.quotas.set({ quota }, used);
  }

  poolSize(pool: string, state: "ready" | "starting", count: number): void {
    this.poolSizes.set({ pool, state }, count);
  }

  poolClaim(pool: string, outcome: "claimed" | "miss"): void {
    this.poolClaims.inc({ pool, outcome });
  }

  aptCacheRequest(result: "hit" | "miss" | "pass" | "refused", bytesFromCache: number): void {
    this.aptRequests.inc({ result });
    if (bytesFromCache > 0) this.aptBytes.inc({ source: "cache" }, bytesFromCache);
  }

  jobEnded(status: string, seconds: number): void {
    this.jobsEnded.observe({ status }, seconds);
  }

  jobCounts(queued: number, running: number): void {
    this.jobs.set({ state: "queued" }, queued);
    this.jobs.set({ state: "running" }, running);
  }

  aptCacheUpstreamBytes(bytes: number): void {
    if (bytes > 0) this.aptBytes.inc({ source: "upstream" }, bytes);
  }

  poolRefilled(pool: string, seconds: number): void {
    this.poolRefills.observe({ pool }, seconds);
  }
}
