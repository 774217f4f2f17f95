import { asControlPlaneError } from "../../errors.js";
import type { ImagePullPolicy } from "../../config.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import { describePullProgress } from "../../runtime/pull-progress.js";
import type { PullProgress } from "../../runtime/runner-images.js";

/** Progress of a prepull is logged at most this often per image. */
export const PREPULL_LOG_INTERVAL_MS = 5_000;

/** Where the prepull of one image is (system_status shows it to every caller). */
export interface PrepullState {
  image: string;
  state: "waiting" | "pulling" | "ready" | "failed" | "skipped";
  /** While pulling: "45% of 27.1 MB, 2 of 5 layers"; when failed: why. */
  detail?: string | undefined;
}

/** A background prepull; `done` never rejects (failures are logged). */
export interface Prepull {
  done: Promise<void>;
  /** Pulls no further image (one already being pulled finishes in the engine). */
  stop(): void;
  /** Each image's state, in the configured order. */
  states(): PrepullState[];
}

/**
 * Pulls the operator's images one after another in the background, logging progress and a final line for each:
 * the missing ones (images.pull "missing"), every one ("always"), or none ("never").
 */
export function prepullImages(
  runtime: Pick<ContainerRuntime, "images">,
  images: string[],
  log: Logger,
  pull: ImagePullPolicy = "missing",
): Prepull {
  let stopped = false;
  const states: PrepullState[] = images.map((image) => ({ image, state: "waiting" }));
  const done = (async () => {
    if (pull === "never" && images.length > 0) {
      for (const entry of states) Object.assign(entry, { state: "skipped", detail: 'images.pull is "never"' });
      log.warn(
        { images },
        'images.pull is "never": images.prepull is not pulled; runners can use only images already on the Docker host',
      );
      return;
    }
    for (const entry of states) {
      const { image } = entry;
      if (stopped) return;
      entry.state = "pulling";
      const startedAt = Date.now();
      let lastLog = startedAt;
      const onProgress = (progress: PullProgress): void => {
        entry.detail = describePullProgress(progress);
        if (Date.now() - lastLog < PREPULL_LOG_INTERVAL_MS) return;
        lastLog = Date.now();
        log.info({ image, status: progress.status, fraction: progress.fraction }, "prepulling image");
      };
      try {
        if (pull === "always") await runtime.images.pull(image, onProgress);
        const info = await runtime.images.ensure(image, onProgress);
        Object.assign(entry, { state: "ready", detail: undefined });
        log.info(
          { image, architecture: info.architecture, durationMs: Date.now() - startedAt },
          "prepulled image is ready",
        );
      } catch (error) {
        Object.assign(entry, { state: "failed", detail: asControlPlaneError(error).message });
        log.warn(
          { image, code: asControlPlaneError(error).code, reason: asControlPlaneError(error).message },
          "prepull failed; runners of this image will pull it when spawned",
        );
      }
    }
  })();
  return { done, stop: () => (stopped = true), states: () => states.map((entry) => ({ ...entry })) };
}
