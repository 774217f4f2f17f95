import type { PoolConfig } from "../../config.js";
import type { RunnerBind } from "../mounts/mount-policy.js";
import type { ValidSpawn } from "../spawn/spawn-request.js";

/**
 * The pool a checked spawn can claim from: same image, profile, network and storage (tmpfs), no mounts and no
 * workspace key (a pooled runner's mounts were fixed before anyone asked), limits within the pool's, and nothing the
 * image check must still do before the container exists (a digest pin, "always" pull, one's own snapshot).
 * Undefined: the spawn starts cold.
 */
export function matchPool(
  pools: readonly PoolConfig[],
  spawn: ValidSpawn,
  binds: readonly RunnerBind[],
): PoolConfig | undefined {
  if (spawn.storage !== "tmpfs" || spawn.workspaceKey !== undefined || binds.length > 0 || spawn.mounts.length > 0)
    return undefined;
  if (spawn.imagePinned || spawn.ownSnapshot || spawn.imagePull === "always") return undefined;
  return pools.find(
    (pool) =>
      pool.image === spawn.image &&
      pool.profile === spawn.profile &&
      pool.network === spawn.network &&
      spawn.limits.cpus <= pool.cpus &&
      spawn.limits.memoryMb <= pool.memoryMb,
  );
}
