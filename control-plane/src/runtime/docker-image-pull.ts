import type Docker from "dockerode";
import type { ControlPlaneError } from "../errors.js";
import type { PullProgress } from "./runner-images.js";
import { dockerMessage, isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { classifyPullFailure } from "./pull-failure.js";
import { PullProgressTracker, type PullEvent } from "./pull-progress.js";

/**
 * Pulls `image`, reporting aggregated byte progress. The engine reports a failure either as the HTTP answer
 * (unknown manifest, unreachable registry, missing credentials) or as an `error` line in the stream; both are
 * classified into IMAGE_NOT_FOUND or IMAGE_PULL_FAILED.
 */
export async function pullDockerImage(
  docker: Docker,
  errors: DockerErrors,
  image: string,
  onProgress: (progress: PullProgress) => void = () => {},
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(image);
  } catch (error) {
    throw failure(errors, image, error);
  }
  const tracker = new PullProgressTracker();
  let streamError: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: PullEvent) => {
          if (event.error) streamError ??= event.errorDetail?.message ?? event.error;
          else onProgress(tracker.update(event));
        },
      );
    });
  } catch (error) {
    throw failure(errors, image, error);
  }
  if (streamError !== undefined) {
    errors.logEngineText(`pull image "${image}"`, streamError);
    throw classifyPullFailure(image, streamError);
  }
}

function failure(errors: DockerErrors, image: string, error: unknown): ControlPlaneError {
  // No status code: the engine itself was not reached (or the stream broke), which is not the registry's fault.
  if (isDockerFailure(error, "unreachable", "interrupted")) return errors.wrap(error, `pull image "${image}"`);
  errors.logEngineText(`pull image "${image}"`, dockerMessage(error));
  return classifyPullFailure(image, dockerMessage(error), error);
}
