import { randomBytes } from "node:crypto";
import type { AgentClient } from "../../agent-client/agent-client.js";
import type { AuditLog } from "../../audit.js";
import type { PoolConfig } from "../../config.js";
import { asControlPlaneError, ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { Meter } from "../../meter.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerLimits } from "../../runtime/runner-container-spec.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import { poolOwner } from "../../runtime/runner-ownership.js";
import type { RunnerClaims, RunnerTokens } from "../../store/state-store.js";
import type { RunnerBind } from "../mounts/mount-policy.js";
import type { RunnerSpawner } from "../spawn/runner-spawner.js";
import type { ValidSpawn } from "../spawn/spawn-request.js";
import { matchPool } from "./pool-match.js";
import { recoverPools, type RecoveredRunner } from "./pool-recovery.js";

/** A ready runner taken from a pool for one spawn: it becomes the spawn's runner once `claim` has made it the caller's. */
export interface TakenRunner {
  runnerId: string;
  pool: PoolConfig;
  client: AgentClient;
}

/** A pool as system_status and the metrics show it. */
export interface PoolStatus {
  name: string;
  image: string;
  /** Ready runners waiting for a claim. */
  ready: number;
  /** Runners being created to refill it. */
  starting: number;
  /** The size it refills to now: min, grown towards max by misses, back to min after idle_shrink_after_s. */
  target: number;
  min: number;
  max: number;
  claims: number;
  misses: number;
  /** Why the last refill failed, while it keeps failing. */
  lastError: string | undefined;
}

export interface WarmPoolsDeps {
  runtime: Pick<ContainerRuntime, "containers" | "engine">;
  spawner: RunnerSpawner;
  claims: RunnerClaims;
  tokens: RunnerTokens;
  /** The pids limit every runner gets (limits.defaults.pids, capped by limits.max.pids). */
  pids: number;
  meter: Meter;
  audit: AuditLog;
  log: Logger;
  /** Test-only fault point (testFixtures): "claim-crash" kills the process right after a claim is recorded. */
  fault?: string | undefined;
}

/** Runners one pool creates at once while it refills: a burst of claims refills in parallel without flooding the engine. */
const REFILL_CONCURRENCY = 4;
const RETRY_INITIAL_MS = 1000;
const RETRY_MAX_MS = 60_000;
const SHRINK_CHECK_MS = 15_000;

interface PoolState {
  config: PoolConfig;
  ready: TakenRunner[];
  starting: number;
  target: number;
  lastClaimAt: number;
  /** When the pool dropped below its target (for the refill metric); undefined while it is full. */
  shortSince: number | undefined;
  claims: number;
  misses: number;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
  lastError: string | undefined;
}

/**
 * Warm pools (config pools, ADR 0017): runners created and ready before anyone asks, owned by `pool:<name>`. A spawn
 * that matches takes one (`take`, synchronous, under the caller's spawn lock) and `claim` makes it the caller's: the
 * claim is recorded in the state store first (the owner from then on, also after a crash), then the agent gets a new
 * token, the container the caller's limits. The pool refills in the background.
 */
export class WarmPools {
  private readonly pools: PoolState[];
  private closed = false;
  private started = false;
  /** The host's memory, read once (it does not change while the engine runs). */
  private capacity: Promise<{ memoryMb: number; cpus: number }> | undefined;
  private shrinkTimer: NodeJS.Timeout | undefined;

  constructor(
    pools: readonly PoolConfig[],
    private readonly deps: WarmPoolsDeps,
  ) {
    this.recovered = new Promise((resolve) => (this.markRecovered = resolve));
    this.pools = pools.map((config) => ({
      config,
      ready: [],
      starting: 0,
      target: config.min,
      lastClaimAt: Date.now(),
      shortSince: config.min > 0 ? Date.now() : undefined,
      claims: 0,
      misses: 0,
      failures: 0,
      retryTimer: undefined,
      lastError: undefined,
    }));
  }

  get configured(): boolean {
    return this.pools.length > 0;
  }

  /**
   * Settles once start() has finished the claims a crash interrupted: until then a claimed runner's agent may still
   * hold its pool's token, so connections to pooled runners wait for it.
   */
  readonly recovered: Promise<void>;
  private markRecovered: () => void = () => undefined;

  /**
   * Finishes claims a crash interrupted, adopts the pools' ready runners, removes stale ones (also of pools no longer
   * configured), then fills every pool.
   */
  async start(): Promise<void> {
    let recovered: RecoveredRunner[];
    try {
      recovered = await recoverPools(
        this.pools.map((pool) => pool.config),
        this.deps,
      );
    } finally {
      this.markRecovered();
    }
    for (const runner of recovered) this.adopt(runner);
    if (this.closed) return void recovered.forEach((runner) => runner.client.close());
    this.started = true;
    for (const pool of this.pools) this.fill(pool);
    this.shrinkTimer = setInterval(() => this.shrinkIdle(), SHRINK_CHECK_MS);
    this.shrinkTimer.unref();
  }

  /**
   * A ready runner of the pool `spawn` matches, taken out of the pool (give it back if the spawn is refused before it
   * is claimed). Undefined when no pool matches, or the matching pool is empty (a miss: the pool grows by one, up to
   * max, and the spawn starts cold).
   */
  take(spawn: ValidSpawn, binds: readonly RunnerBind[]): TakenRunner | undefined {
    // Before start-up recovery has adopted the pools' runners, a spawn starts cold and counts no miss.
    if (this.closed || !this.started) return undefined;
    const config = matchPool(
      this.pools.map((pool) => pool.config),
      spawn,
      binds,
    );
    const pool = config && this.stateOf(config);
    if (!pool) return undefined;
    pool.lastClaimAt = Date.now();
    const taken = pool.ready.shift();
    if (taken) return taken;
    pool.misses++;
    this.deps.meter.poolClaim(config.name, "miss");
    pool.target = Math.min(config.max, pool.target + 1);
    this.deps.log.info({ pool: config.name, target: pool.target }, "warm pool empty; the spawn starts cold");
    this.fill(pool);
    return undefined;
  }

  /** Puts back a runner taken for a spawn that was refused before its claim (a quota, a conflict, a reused key). */
  giveBack(taken: TakenRunner): void {
    const pool = this.stateOf(taken.pool);
    if (!pool || this.closed) return void this.discard(taken, "the spawn it was taken for was refused");
    pool.ready.unshift(taken);
    this.report(pool);
  }

  /**
   * Makes a taken runner `principal`'s: records the claim, gives the agent a new token (the pool's then opens
   * nothing), applies the spawn's limits and env. On failure the runner is removed and the error thrown (the caller
   * may start cold instead).
   */
  async claim(
    taken: TakenRunner,
    principal: string,
    spawn: ValidSpawn,
  ): Promise<{ container: RunnerContainer; client: AgentClient }> {
    // The pool refills once the runner is the caller's (or gone): a runner given back meanwhile never overfills it.
    try {
      return await this.claimTaken(taken, principal, spawn);
    } finally {
      const state = this.stateOf(taken.pool);
      if (state) this.fill(state);
    }
  }

  private async claimTaken(
    taken: TakenRunner,
    principal: string,
    spawn: ValidSpawn,
  ): Promise<{ container: RunnerContainer; client: AgentClient }> {
    const { runnerId, pool } = taken;
    const token = randomBytes(32).toString("base64url");
    const recorded = this.deps.claims.insert({
      runnerId,
      pool: pool.name,
      principal,
      alias: spawn.alias,
      env: spawn.env,
      limits: spawn.limits,
      token,
      state: "claiming",
      claimedAt: new Date().toISOString(),
    });
    if (!recorded) throw new Error(`pooled runner ${runnerId} is claimed already`);
    // Test-only (testFixtures): a control plane that dies between the claim and its answer.
    if (this.deps.fault === "claim-crash") process.kill(process.pid, "SIGKILL");
    try {
      await taken.client.rotateToken(token);
      this.deps.tokens.set(runnerId, token);
      taken.client.exec.baseEnv = spawn.env;
      if (!sameLimits(spawn.limits, this.poolLimits(pool)))
        await this.deps.runtime.containers.updateLimits(runnerId, spawn.limits);
      this.deps.claims.markClaimed(runnerId);
      const container = await this.deps.runtime.containers.findRunner(runnerId);
      if (container?.state !== "running") throw new Error(`pooled runner ${runnerId} is no longer running`);
      this.deps.meter.poolClaim(pool.name, "claimed");
      const state = this.stateOf(pool);
      if (state) state.claims++;
      this.deps.audit.record({ action: "pool.claim", principal, outcome: "ok", runner: runnerId, pool: pool.name });
      return { container, client: taken.client };
    } catch (error) {
      this.deps.log.warn({ err: error, runner: runnerId, pool: pool.name }, "claiming a pooled runner failed");
      taken.client.close();
      await this.deps.runtime.containers.removeRunner(runnerId).catch(() => undefined);
      this.deps.claims.delete(runnerId);
      throw error;
    }
  }

  status(): PoolStatus[] {
    return this.pools.map((pool) => ({
      name: pool.config.name,
      image: pool.config.image,
      ready: pool.ready.length,
      starting: pool.starting,
      target: pool.target,
      min: pool.config.min,
      max: pool.config.max,
      claims: pool.claims,
      misses: pool.misses,
      lastError: pool.lastError,
    }));
  }

  /** Stops refilling and shrinking; ready runners stay on the engine and are adopted again at the next start. */
  close(): void {
    this.closed = true;
    if (this.shrinkTimer) clearInterval(this.shrinkTimer);
    for (const pool of this.pools) {
      if (pool.retryTimer) clearTimeout(pool.retryTimer);
      for (const runner of pool.ready) runner.client.close();
    }
  }

  private stateOf(config: PoolConfig): PoolState | undefined {
    return this.pools.find((candidate) => candidate.config === config);
  }

  private adopt(runner: RecoveredRunner): void {
    const pool = this.pools.find((candidate) => candidate.config.name === runner.pool.name);
    if (!pool || pool.ready.length >= pool.config.max) {
      void this.discard({ ...runner, pool: runner.pool }, "its pool is full");
      return;
    }
    pool.ready.push({ runnerId: runner.runnerId, pool: pool.config, client: runner.client });
    this.report(pool);
  }

  /** Starts creating runners until ready + starting reaches the target (a few at a time); retries failures with backoff. */
  private fill(pool: PoolState): void {
    if (pool.ready.length + pool.starting < pool.target && pool.shortSince === undefined) pool.shortSince = Date.now();
    while (
      !this.closed &&
      pool.retryTimer === undefined &&
      pool.starting < REFILL_CONCURRENCY &&
      pool.ready.length + pool.starting < pool.target
    ) {
      pool.starting++;
      void this.createOne(pool).finally(() => {
        pool.starting--;
        this.report(pool);
        this.fill(pool);
      });
    }
    this.report(pool);
  }

  private async createOne(pool: PoolState): Promise<void> {
    const { config } = pool;
    const runnerId = `r-${randomBytes(6).toString("hex")}`;
    const token = randomBytes(32).toString("base64url");
    try {
      await this.checkHostRoom(config);
      const { client } = await this.deps.spawner.create(
        {
          principal: poolOwner(config.name),
          runnerId,
          token,
          createdAt: new Date().toISOString(),
          spawn: {
            image: config.image,
            mounts: [],
            workspaceKey: undefined,
            storage: "tmpfs",
            alias: undefined,
            limits: this.poolLimits(config),
            network: config.network,
            env: {},
            profile: config.profile,
            idempotencyKey: undefined,
          },
          binds: [],
          workspaceKey: undefined,
        },
        () => undefined,
      );
      if (this.closed) return void client.close();
      pool.ready.push({ runnerId, pool: config, client });
      pool.failures = 0;
      pool.lastError = undefined;
      if (pool.ready.length >= pool.target && pool.shortSince !== undefined) {
        this.deps.meter.poolRefilled(config.name, (Date.now() - pool.shortSince) / 1000);
        pool.shortSince = undefined;
      }
      this.deps.log.debug({ pool: config.name, runner: runnerId, ready: pool.ready.length }, "pooled runner ready");
    } catch (error) {
      pool.failures++;
      pool.lastError = asControlPlaneError(error).message;
      const delayMs = Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** Math.min(pool.failures - 1, 10));
      this.deps.log.warn(
        { err: error, pool: config.name, image: config.image, retryInMs: delayMs },
        "could not create a pooled runner; the pool retries",
      );
      if (!this.closed && pool.retryTimer === undefined) {
        pool.retryTimer = setTimeout(() => {
          pool.retryTimer = undefined;
          this.fill(pool);
        }, delayMs);
        pool.retryTimer.unref();
      }
    }
  }

  /**
   * Pooled runners wait idle for a claim: together they may not take more than the host's memory. Their memory
   * limits (ready and starting, this one included) must fit in it; a claimed runner counts for its claimer (quotas).
   */
  private async checkHostRoom(config: PoolConfig): Promise<void> {
    this.capacity ??= this.deps.runtime.engine.capacity().catch((error: unknown) => {
      this.capacity = undefined;
      throw error;
    });
    const { memoryMb } = await this.capacity;
    if (memoryMb === 0) return;
    const pooledMb = this.pools.reduce(
      (sum, pool) => sum + (pool.ready.length + pool.starting) * pool.config.memoryMb,
      0,
    );
    if (pooledMb > memoryMb)
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `pooled runners would hold ${pooledMb} MiB of memory limits, more than the host's ${memoryMb} MiB (this one: ${config.memoryMb} MiB); lower pools[].min, max or memory_mb`,
      );
  }

  /** Pools that grew past min on misses go back to min after idle_shrink_after_s without a claim. */
  private shrinkIdle(): void {
    for (const pool of this.pools) {
      const { idleShrinkAfterS, min } = pool.config;
      if (idleShrinkAfterS === 0 || pool.target <= min || Date.now() - pool.lastClaimAt < idleShrinkAfterS * 1000)
        continue;
      pool.target = min;
      const extra = pool.ready.splice(min);
      this.deps.log.info({ pool: pool.config.name, removed: extra.length }, "warm pool idle; shrinking to min");
      for (const runner of extra) void this.discard(runner, "the pool shrank while idle");
      this.report(pool);
    }
  }

  private async discard(runner: TakenRunner, why: string): Promise<void> {
    runner.client.close();
    try {
      await this.deps.runtime.containers.removeRunner(runner.runnerId);
      this.deps.log.info({ pool: runner.pool.name, runner: runner.runnerId, why }, "pooled runner removed");
    } catch (error) {
      this.deps.log.warn({ err: error, runner: runner.runnerId }, "could not remove a pooled runner");
    }
  }

  private poolLimits(config: PoolConfig): RunnerLimits {
    return { cpus: config.cpus, memoryMb: config.memoryMb, pids: this.deps.pids };
  }

  private report(pool: PoolState): void {
    this.deps.meter.poolSize(pool.config.name, "ready", pool.ready.length);
    this.deps.meter.poolSize(pool.config.name, "starting", pool.starting);
  }
}

function sameLimits(a: RunnerLimits, b: RunnerLimits): boolean {
  return a.cpus === b.cpus && a.memoryMb === b.memoryMb && a.pids === b.pids;
}
