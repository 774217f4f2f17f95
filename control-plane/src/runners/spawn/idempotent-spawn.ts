import { ControlPlaneError } from "../../errors.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { StateStore } from "../../store/state-store.js";
import { runnerInfoFromContainer } from "../runner-info.js";
import type { InFlightSpawn } from "../runner-lookup.js";
import type { RunnerInfo } from "../runner.js";

/** How long an idempotency key is honoured. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface SpawnClaim {
  principal: string;
  key: string;
  requestHash: string;
  runnerId: string;
  createdAt: string;
}

/** The earlier spawn a repeated key stands for. */
export interface ReusedSpawn {
  runner: RunnerInfo;
  ready: Promise<RunnerInfo>;
}

/**
 * Claims `key` for a new spawn (undefined: go ahead and create `claim.runnerId`), or returns the runner an earlier
 * request with the same key and arguments made (waiting for it while it is starting). The same key with other
 * arguments, or for a runner removed since, is IDEMPOTENCY_CONFLICT. A claim whose spawn never finished (it failed,
 * or the control plane restarted meanwhile) is released and claimed again. Call under the principal's lock.
 */
export async function claimSpawnKey(
  store: StateStore,
  runtime: Pick<ContainerRuntime, "containers">,
  inFlight: ReadonlyMap<string, InFlightSpawn>,
  claim: SpawnClaim,
): Promise<ReusedSpawn | undefined> {
  const expiresAt = new Date(Date.parse(claim.createdAt) + IDEMPOTENCY_TTL_MS).toISOString();
  for (let attempt = 0; attempt < 2; attempt++) {
    const outcome = store.claimIdempotencyKey({ ...claim, expiresAt });
    if (outcome.status === "claimed") return undefined;
    const record = outcome.record;
    if (record.requestHash !== claim.requestHash) {
      throw new ControlPlaneError(
        "IDEMPOTENCY_CONFLICT",
        `idempotency_key "${claim.key}" was already used at ${record.createdAt} for a runner_spawn with other arguments (runner "${record.runnerId}"); ` +
          "repeat the original arguments to get that runner, or use a new key for a different request.",
      );
    }
    const running = inFlight.get(record.runnerId);
    if (running) return { runner: running.info, ready: running.ready };
    const container = await runtime.containers.findRunner(record.runnerId);
    if (container && container.principal === claim.principal) {
      if (!record.completed) store.completeIdempotencyKey(claim.principal, claim.key, record.runnerId);
      const runner = runnerInfoFromContainer(container, store.findSpawn(claim.principal, record.runnerId), undefined);
      return { runner, ready: Promise.resolve(runner) };
    }
    if (record.completed) {
      throw new ControlPlaneError(
        "IDEMPOTENCY_CONFLICT",
        `idempotency_key "${claim.key}" already produced runner "${record.runnerId}", which has been removed since; use a new key to spawn another runner.`,
      );
    }
    store.releaseIdempotencyKey(claim.principal, claim.key);
  }
  throw new ControlPlaneError("INTERNAL", `idempotency_key "${claim.key}" could not be claimed; retry the call.`);
}
