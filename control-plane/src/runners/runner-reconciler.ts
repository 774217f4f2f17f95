import type { Logger } from "../log.js";
import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { StateStore } from "../store/state-store.js";

/** What reconcile() found and did. */
export interface ReconcileReport {
  /** This instance's runners (of every principal) kept as they are: the engine is the truth, nothing to do but know them. */
  adopted: number;
  /** Spawns this store recorded as starting that no control plane is finishing any more, now failed. */
  failedSpawns: number;
  /** Runner containers removed because they never started and hold no user data. */
  removedOrphans: number;
}

export const RESTARTED_DURING_SPAWN =
  "the control plane restarted while the runner was starting; spawn it again (with the same idempotency_key, if you used one).";

/**
 * Brings the store in line with the engine after a (re)start. Safe with several control planes on one engine: the runtime
 * lists only this instance's runners (label io.devhatchery.instance), it only changes spawn records of its own store,
 * removes only containers that were created but never started and are older than the ready timeout (nobody is still
 * starting them), and never removes a workspace volume.
 */
export async function reconcileRunners(
  runtime: Pick<ContainerRuntime, "engine" | "containers">,
  store: StateStore,
  options: { readyTimeoutMs: number; isInFlight: (runnerId: string) => boolean; now?: () => number },
  log: Logger,
): Promise<ReconcileReport> {
  const now = (options.now ?? Date.now)();
  const containers = await runtime.containers.listAllRunners();
  const byId = new Map(containers.map((container) => [container.runnerId, container]));
  const removed = new Set<string>();
  let failedSpawns = 0;

  for (const spawn of store.listSpawns()) {
    if (spawn.status !== "starting" || options.isInFlight(spawn.runnerId)) continue;
    const container = byId.get(spawn.runnerId);
    if (container?.state === "running") {
      // It came up; only the record of it being ready was lost with the crash.
      store.finishSpawn(spawn.runnerId, { status: "ready" });
      continue;
    }
    if (container) {
      await runtime.containers.removeRunner(spawn.runnerId);
      removed.add(spawn.runnerId);
    }
    store.finishSpawn(spawn.runnerId, { status: "failed", error: RESTARTED_DURING_SPAWN });
    failedSpawns++;
  }

  for (const container of containers) {
    if (removed.has(container.runnerId) || container.state !== "created" || options.isInFlight(container.runnerId))
      continue;
    const age = now - Date.parse(container.createdAt);
    if (!(age > options.readyTimeoutMs)) continue;
    await runtime.containers.removeRunner(container.runnerId);
    removed.add(container.runnerId);
    log.info(
      { runner: container.runnerId, principal: container.principal, ageMs: age },
      "removed a runner container that never started",
    );
  }

  const report = { adopted: containers.length - removed.size, failedSpawns, removedOrphans: removed.size };
  log.info(report, "reconciled runners with Docker");
  const legacy = await runtime.engine.countUnservedLegacyObjects();
  if (legacy.runners + legacy.volumes > 0) {
    log.warn(
      legacy,
      "runners or workspace volumes made by a DevHatchery before instance labels are on this engine and not served by this control plane; " +
        "set state.unlabelled_objects: adopt (DEVHATCHERY_UNLABELLED_OBJECTS=adopt) on the one control plane that should serve them",
    );
  }
  return report;
}
