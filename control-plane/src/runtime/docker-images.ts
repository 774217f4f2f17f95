import type Docker from "dockerode";
import type { Logger } from "../log.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { pullDockerImage } from "./docker-image-pull.js";
import type { InstanceScope } from "./instance-scope.js";
import { LABEL } from "./labels.js";
import type { ImageInfo, LocalImage, PullProgress, RunnerImages } from "./runner-images.js";

/** Images on Docker: inspected by reference, pulled from their registry when missing. */
export class DockerImages implements RunnerImages {
  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
    private readonly scope: InstanceScope,
  ) {}

  async inspect(reference: string): Promise<LocalImage | undefined> {
    try {
      const info = await this.docker.getImage(reference).inspect();
      const labels = info.Config.Labels ?? {};
      const otherInstance = labels[LABEL.instance] !== undefined && !this.scope.owns(labels);
      return {
        ...toImageInfo(info),
        id: info.Id,
        tags: info.RepoTags ?? [],
        digests: info.RepoDigests ?? [],
        labels,
        otherInstance,
      };
    } catch (error) {
      // "invalid": a reference the engine cannot parse names no image either.
      if (isDockerFailure(error, "missing", "invalid")) return undefined;
      throw this.errors.wrap(error, `inspect image "${reference}"`);
    }
  }

  async pull(reference: string, onProgress?: (progress: PullProgress) => void): Promise<void> {
    this.log.info({ image: reference }, "pulling image");
    await pullDockerImage(this.docker, this.errors, reference, onProgress);
  }

  async ensure(image: string, onProgress?: (progress: PullProgress) => void): Promise<ImageInfo> {
    try {
      return toImageInfo(await this.docker.getImage(image).inspect());
    } catch (error) {
      if (!isDockerFailure(error, "missing")) throw this.errors.wrap(error, `inspect image "${image}"`);
    }
    await this.pull(image, onProgress);
    return toImageInfo(await this.errors.call(`inspect image "${image}"`, () => this.docker.getImage(image).inspect()));
  }
}

function toImageInfo(info: Docker.ImageInspectInfo): ImageInfo {
  return { architecture: info.Architecture, agentVersion: info.Config.Labels?.[LABEL.agentVersion] || undefined };
}
