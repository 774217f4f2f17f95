import { asControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ContainerRuntime, PullProgress } from "../runtime/container-runtime.js";

/** Progress of a prepull is logged at most this often per image. */
export const PREPULL_LOG_INTERVAL_MS = 5_000;

/** A background prepull; `done` never rejects (failures are logged). */
export interface Prepull {
  done: Promise<void>;
  /** Pulls no further image (one already being pulled finishes in the engine). */
  stop(): void;
}

/** Pulls the operator's images one after another in the background, logging progress and a final line for each. */
export function prepullImages(runtime: ContainerRuntime, images: string[], log: Logger): Prepull {
  let stopped = false;
  const done = (async () => {
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
        const info = await runtime.ensureImage(image, onProgress);
        log.info({ image, architecture: info.architecture, durationMs: Date.now() - startedAt }, "prepulled image is ready");
      } catch (error) {
        log.warn({ image, code: asControlPlaneError(error).code, reason: asControlPlaneError(error).message }, "prepull failed; runners of this image will pull it when spawned");
      }
    }
  })();
  return { done, stop: () => (stopped = true) };
}
