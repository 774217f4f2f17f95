import type { ImagePullPolicy } from "../../config.js";
import { asControlPlaneError, ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { AgentVolumes } from "../../runtime/agent-volumes.js";
import type { ImageInfo, RunnerImages } from "../../runtime/runner-images.js";

/** The runtime roles preparing the default image needs. */
interface PreparationRuntime {
  images: Pick<RunnerImages, "ensure" | "inspect">;
  agentVolumes: AgentVolumes;
}

/** How long after a failed preparation it is tried again (the engine may come up after the control plane). */
export const PREPARATION_RETRY_MS = 30_000;

/** Start-up work for the default image; readiness reads its state. */
export interface DefaultImagePreparation {
  isReady(): boolean;
  /** The last failure's message, until it succeeds. */
  failure(): string | undefined;
  /** Settles after the first attempt (tests and callers that want to wait). */
  readonly firstAttempt: Promise<void>;
  stop(): void;
}

/**
 * Makes runners of the default image spawnable in the background, as the first spawn would: the image present and,
 * when it does not bake the agent, its agent volume filled. A failure is logged and retried every
 * PREPARATION_RETRY_MS until it succeeds; the timer never keeps the process alive.
 */
export function prepareDefaultImage(
  runtime: PreparationRuntime,
  image: string,
  log: Logger,
  pull: ImagePullPolicy = "missing",
  retryMs = PREPARATION_RETRY_MS,
): DefaultImagePreparation {
  let ready = false;
  let stopped = false;
  let failure: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async (): Promise<void> => {
    try {
      const info = await localImage(runtime, image, pull);
      if (!info.agentVersion) await runtime.agentVolumes.ensure(info.architecture, image);
      ready = true;
      failure = undefined;
      log.info({ image }, "the default image and its agent are ready");
    } catch (error) {
      failure = asControlPlaneError(error).message;
      log.warn({ err: error, image, retryMs }, "preparing the default image failed; trying again later");
      if (!stopped) timer = setTimeout(() => void attempt(), retryMs).unref();
    }
  };
  return {
    isReady: () => ready,
    failure: () => failure,
    firstAttempt: attempt(),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** With images.pull "never" the default image must already be on the Docker host: preparing it never pulls. */
async function localImage(
  runtime: Pick<PreparationRuntime, "images">,
  image: string,
  pull: ImagePullPolicy,
): Promise<ImageInfo> {
  if (pull !== "never") return runtime.images.ensure(image);
  const local = await runtime.images.inspect(image);
  if (!local)
    throw new ControlPlaneError(
      "IMAGE_NOT_FOUND",
      `The default image "${image}" is not on the Docker host and images.pull is "never"; build or load it there, or change images.default.`,
      {
        hint: "Only the operator can provide the default image; meanwhile name another image in runner_spawn's image, or one of your snapshots (snapshot_list) as snapshot.",
      },
    );
  return local;
}
