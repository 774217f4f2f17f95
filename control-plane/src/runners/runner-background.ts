import type { ImagePullPolicy } from "../config.js";
import type { Logger } from "../log.js";
import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { RunnerEvent } from "../runtime/runner-events.js";
import type { StateStore } from "../store/state-store.js";
import { prepullImages, type PrepullState } from "./spawn/image-prepull.js";

/** How often expired idempotency keys, failed spawns and tasks are dropped from the store. */
export const PRUNE_INTERVAL_MS = 5 * 60 * 1000;

/**
 * Starts what a control plane does in the background: prepulling `images` (readiness does not wait), following runner
 * events, and pruning the store. Returns how to stop all of it (timers never keep the process alive) and the prepulls' states.
 */
export function startRunnerBackgroundWork(
  runtime: Pick<ContainerRuntime, "images" | "events">,
  store: StateStore,
  prepull: { images: string[]; pull: ImagePullPolicy },
  onEvent: (event: RunnerEvent) => void,
  log: Logger,
): { stop(): void; prepulls(): PrepullState[] } {
  const pulls = prepullImages(runtime, prepull.images, log, prepull.pull);
  const stopEvents = runtime.events.watch(onEvent);
  const prune = setInterval(() => {
    try {
      const pruned = store.pruneExpired(new Date());
      if (pruned > 0) log.debug({ pruned }, "pruned expired state");
    } catch (error) {
      log.warn({ err: error }, "pruning the state store failed");
    }
  }, PRUNE_INTERVAL_MS);
  prune.unref();
  return {
    stop: () => {
      pulls.stop();
      stopEvents();
      clearInterval(prune);
    },
    prepulls: () => pulls.states(),
  };
}
