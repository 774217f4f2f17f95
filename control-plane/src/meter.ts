import type { QuotaName } from "./config.js";

/**
 * The counters the domain bumps as it works (exec outcomes, filesystem operations, bytes moved). Bounded values
 * only: never ids, principals or paths. The Prometheus implementation lives in observability/.
 */
export interface Meter {
  /** A process ended (as seen by the control plane), or an exec call failed ("error"). */
  execEnded(outcome: ExecOutcomeLabel, durationMs: number | undefined): void;
  fsOperation(op: FsOperationLabel): void;
  /** Bytes carried between a client and a runner: file content, exec output and stdin, exports. */
  bytesStreamed(direction: "to_runner" | "from_runner", bytes: number): void;
  /** The control plane stopped, paused, resumed or started a runner on its own (idle) or for a call that named it. */
  runnerLifecycle(action: "stop" | "pause" | "resume" | "start", reason: "idle" | "call"): void;
  /** Garbage collection deleted something (kind and reason are small fixed sets: see garbage-plan.ts). */
  garbageDeleted(kind: string, reason: string): void;
  /** What all principals together use of a quota now, in its unit (runners, cpus, MiB, snapshots): a gauge. */
  quotaUsage(quota: QuotaName, used: number): void;
  /** A warm pool's runners by state (ready, starting): a gauge. Pool names are the operator's, few and fixed. */
  poolSize(pool: string, state: "ready" | "starting", count: number): void;
  /** A spawn that matched a pool claimed a runner ("claimed") or found it empty ("miss"). */
  poolClaim(pool: string, outcome: "claimed" | "miss"): void;
  /** A pool got back to its size after dropping below it: how long that took. */
  poolRefilled(pool: string, seconds: number): void;
  /** The apt cache answered a runner: from its disk (hit, with the bytes served), fetched to keep (miss), passed through, or refused. */
  aptCacheRequest(result: "hit" | "miss" | "pass" | "refused", bytesFromCache: number): void;
  /** Bytes the apt cache fetched from repositories. */
  aptCacheUpstreamBytes(bytes: number): void;
  /** A job ended (succeeded, failed, timed_out, cancelled), after `seconds` from its submission. */
  jobEnded(status: string, seconds: number): void;
  /** Jobs waiting in the queue and running now: gauges. */
  jobCounts(queued: number, running: number): void;
}

export type ExecOutcomeLabel =
  "success" | "nonzero_exit" | "signaled" | "timed_out" | "interrupted" | "oom_killed" | "error";

export type FsOperationLabel = "read" | "write" | "list" | "stat" | "mkdir" | "move" | "remove";

/** A meter that counts nothing (tests of other things). */
export const NO_METER: Meter = {
  execEnded: () => undefined,
  fsOperation: () => undefined,
  bytesStreamed: () => undefined,
  runnerLifecycle: () => undefined,
  garbageDeleted: () => undefined,
  quotaUsage: () => undefined,
  poolSize: () => undefined,
  poolClaim: () => undefined,
  poolRefilled: () => undefined,
  aptCacheRequest: () => undefined,
  aptCacheUpstreamBytes: () => undefined,
  jobEnded: () => undefined,
  jobCounts: () => undefined,
};
