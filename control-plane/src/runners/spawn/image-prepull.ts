import { asControlPlaneError } from "../../errors.js";
import type { ImagePullPolicy } from "../../config.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { PullProgress } from "../../runtime/runner-images.js";

/** Progress of a prepull is logged at most this often per image. */
export const PREPULL_LOG_INTERVAL_MS = 5_000;

/** A background prepull; `done` never rejects (failures are logged). */
export interface Prepull {
  done: Promise<void>;
  /** Pulls no further image (one already being pulled finishes in the engine). */
  stop(): void;
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
  const done = (async () => {
    if (pull === "never" && images.length > 0) {
      log.warn(
        { images },
        'images.pull is "never": images.prepull is not pulled; runners can use only images already on the Docker host',
      );
      return;
    }
    for (const image of images) {
      if (stopped) return;
      const startedAt = Date.now();
      let lastLog = startedAt;
      const onProgress = (progress: PullProgress): void => {
        if (Date.now() - lastLog < PREPULL_LOG_INTERVAL_MS) return;
        lastLog = Date.now();
        log.info({ image, status: progress.status, fraction: progress.fraction }, "prepulling image");
      };
      try {
        if (pull === "always") await runtime.images.pull(image, onProgress);
        const info = await runtime.images.ensure(image, onProgress);
        log.info(
          { image, architecture: info.architecture, durationMs: Date.now() - startedAt },
          "prepulled image is ready",
        );
      } catch (error) {
        log.warn(
          { image, code: asControlPlaneError(error).code, reason: asControlPlaneError(error).message },
          "prepull failed; runners of this image will pull it when spawned",
        );
      }
    }
  })();
  return { done, stop: () => (stopped = true) };
}
