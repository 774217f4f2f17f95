/** Unclaimed pooled runners are owned by `pool:<name>`; ":" is not allowed in principal names, so no caller matches. */
export const POOL_OWNER_PREFIX = "pool:";

/** The owner label of a pool's unclaimed runners. */
export function poolOwner(pool: string): string {
  return `${POOL_OWNER_PREFIX}${pool}`;
}

/** The pool a runner's owner label names, when it was created for one. */
export function poolOfOwner(owner: string): string | undefined {
  return owner.startsWith(POOL_OWNER_PREFIX) ? owner.slice(POOL_OWNER_PREFIX.length) : undefined;
}

/** True for a pooled runner nobody has claimed: its pool manages it, not idle checks, quotas or retention. */
export function isUnclaimedPooled(runner: { principal: string }): boolean {
  return poolOfOwner(runner.principal) !== undefined;
}

/** What a claim of a pooled runner changed about it: labels cannot change, so the runtime overlays these. */
export interface ClaimedOwnership {
  principal: string;
  alias: string | undefined;
  /** The claimer's env, applied to every exec in the runner (the container's Env was fixed before the claim). */
  env: Record<string, string>;
  /** When it was claimed: the runner's creation time as its owner sees it (lifetime, runner_list). */
  claimedAt: string;
}

/**
 * Where the runtime reads who claimed a pooled runner (the state store's runner_claims, or memory): a pooled
 * runner's labels name its pool, never its claimer.
 */
export interface RunnerOwnership {
  get(runnerId: string): ClaimedOwnership | undefined;
  /** The ids of the runners `principal` claimed from pools. */
  runnerIdsOf(principal: string): string[];
  /** Forgets a claim when its runner is removed. */
  delete(runnerId: string): void;
}

/** No pools: every runner's owner is its label. */
export const NO_CLAIMS: RunnerOwnership = {
  get: () => undefined,
  runnerIdsOf: () => [],
  delete: () => undefined,
};
