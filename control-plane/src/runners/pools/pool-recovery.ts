import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import { AgentClient } from "../../agent-client/agent-client.js";
import type { PoolConfig } from "../../config.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import type { RunnerClaimRecord, RunnerClaims, RunnerTokens } from "../../store/state-store.js";

/** A pooled runner found ready at start-up, with a client that passed its health check. */
export interface RecoveredRunner {
  runnerId: string;
  pool: PoolConfig;
  client: AgentClient;
}

export interface PoolRecoveryDeps {
  runtime: Pick<ContainerRuntime, "containers">;
  claims: RunnerClaims;
  tokens: RunnerTokens;
  /** The pids limit pooled runners are created with. */
  pids: number;
  log: Logger;
}

const HEALTH_TIMEOUT_MS = 3000;

/**
 * After a (re)start: claims whose runner is gone are forgotten; claims a crash interrupted (state "claiming") are
 * finished, so the runner is its claimer's with the claim's token, or removed when that cannot be done; unclaimed
 * pooled runners that still fit their pool's configuration and answer are returned ready, every other one removed.
 * A claimed runner is never handed to anyone but its claimer, and no unclaimed one is left behind.
 */
export async function recoverPools(pools: readonly PoolConfig[], deps: PoolRecoveryDeps): Promise<RecoveredRunner[]> {
  const containers = await deps.runtime.containers.listAllRunners();
  const byId = new Map(containers.map((container) => [container.runnerId, container]));
  for (const claim of deps.claims.all()) {
    const container = byId.get(claim.runnerId);
    if (!container) {
      deps.claims.delete(claim.runnerId);
      continue;
    }
    if (claim.state === "claiming") await finishClaim(claim, container, deps);
  }
  const ready: RecoveredRunner[] = [];
  for (const container of containers) {
    // The overlay names the claimer of a claimed runner; an unclaimed one is still owned by its pool.
    if (container.pool === undefined || deps.claims.get(container.runnerId)) continue;
    const pool = pools.find((candidate) => candidate.name === container.pool);
    const why = !pool
      ? "its pool is no longer configured"
      : !fits(pool, container, deps.pids)
        ? "its pool's configuration changed"
        : container.state !== "running" || !container.address || !container.token
          ? `it is ${container.state}`
          : undefined;
    const client = why === undefined ? await healthyClient(container, container.token!, deps.log) : undefined;
    if (pool && client) {
      ready.push({ runnerId: container.runnerId, pool, client });
      continue;
    }
    await deps.runtime.containers.removeRunner(container.runnerId).catch(() => undefined);
    deps.log.info(
      { runner: container.runnerId, pool: container.pool, why: why ?? "its agent does not answer" },
      "removed a stale pooled runner",
    );
  }
  if (ready.length > 0) deps.log.info({ ready: ready.length }, "adopted ready pooled runners");
  return ready;
}

/** A claim recorded before a crash: make the agent hold the claim's token and the container the claim's limits. */
async function finishClaim(
  claim: RunnerClaimRecord,
  container: RunnerContainer,
  deps: PoolRecoveryDeps,
): Promise<void> {
  const log = deps.log.child({ runner: claim.runnerId, principal: claim.principal, pool: claim.pool });
  try {
    if (container.state === "running" && container.address) {
      const claimed = await healthyClient(container, claim.token, log);
      if (claimed) claimed.close();
      else {
        const pooled = container.token && (await healthyClient(container, container.token, log));
        if (!pooled) throw new Error("its agent answers neither the pool's token nor the claim's");
        try {
          await pooled.rotateToken(claim.token);
        } finally {
          pooled.close();
        }
      }
      await deps.runtime.containers.updateLimits(claim.runnerId, claim.limits);
    }
    // A stopped runner gets the claim's token at its next start.
    deps.tokens.set(claim.runnerId, claim.token);
    deps.claims.markClaimed(claim.runnerId);
    log.info("finished a claim interrupted by a restart; the runner is its claimer's");
  } catch (error) {
    log.warn({ err: error }, "could not finish a claim interrupted by a restart; its runner is removed");
    await deps.runtime.containers.removeRunner(claim.runnerId).catch(() => undefined);
    deps.claims.delete(claim.runnerId);
  }
}

function fits(pool: PoolConfig, container: RunnerContainer, pids: number): boolean {
  return (
    container.image === pool.image &&
    container.hardened === (pool.profile === "hardened") &&
    container.networkEnabled === pool.network &&
    container.storage.kind === "tmpfs" &&
    container.limits.cpus === pool.cpus &&
    container.limits.memoryMb === pool.memoryMb &&
    container.limits.pids === pids
  );
}

async function healthyClient(container: RunnerContainer, token: string, log: Logger): Promise<AgentClient | undefined> {
  const client = new AgentClient(container.runnerId, `${container.address}:${AGENT_DEFAULT_PORT}`, token, log);
  if (await client.health.isServing(HEALTH_TIMEOUT_MS)) return client;
  client.close();
  return undefined;
}
