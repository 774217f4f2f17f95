import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { AgentPayload } from "./agent-payload.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import type { AgentVolumeInfo, EngineLeftovers, HelperContainer, ImageRemoval } from "./engine-leftovers.js";
import { volumeUsers } from "./docker-volume-users.js";
import { KIND, LABEL } from "./labels.js";

/** Agent volumes, helper containers and pulled images on Docker. Agent volumes are shared by every instance on the engine. */
export class DockerLeftovers implements EngineLeftovers {
  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
    private readonly payload: Pick<AgentPayload, "snapshot">,
  ) {}

  async currentAgent(): Promise<{ version: string; digest: string }> {
    const { version, digest } = await this.payload.snapshot();
    return { version, digest };
  }

  async agentVolumes(): Promise<AgentVolumeInfo[]> {
    const { Volumes: volumes } = await this.errors.call("list agent volumes", () =>
      this.docker.listVolumes({ filters: { label: [`${LABEL.kind}=${KIND.agent}`] } }),
    );
    if (!volumes?.length) return [];
    const users = await volumeUsers(
      this.docker,
      this.errors,
      volumes.map((volume) => volume.Name),
      "agent volumes",
    );
    return volumes.map((volume) => ({
      name: volume.Name,
      version: volume.Labels?.[LABEL.agentVersion] ?? "",
      digest: volume.Labels?.[LABEL.agentDigest] ?? "",
      arch: volume.Labels?.[LABEL.agentArch] ?? "",
      createdAt: (volume as { CreatedAt?: string }).CreatedAt ?? "",
      usedBy: users.get(volume.Name) ?? [],
    }));
  }

  async removeAgentVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
      this.log.info({ volume: name }, "removed agent volume");
    } catch (error) {
      if (isDockerFailure(error, "missing")) return;
      if (isDockerFailure(error, "conflict"))
        throw new ControlPlaneError("FAILED_PRECONDITION", `Agent volume "${name}" is mounted by a container; kept.`, {
          cause: error,
        });
      throw this.errors.wrap(error, `remove agent volume "${name}"`);
    }
  }

  async helperContainers(): Promise<HelperContainer[]> {
    // Docker ANDs label filters: ask for everything with a kind, keep the two helper kinds.
    const containers = await this.errors.call("list helper containers", () =>
      this.docker.listContainers({ all: true, filters: { label: [LABEL.kind] } }),
    );
    const kinds: string[] = [KIND.agentHelper, KIND.workspaceHelper];
    return containers
      .filter((container) => kinds.includes(container.Labels[LABEL.kind] ?? ""))
      .map((container) => ({
        id: container.Id,
        name: container.Names[0]?.replace(/^\//, "") ?? container.Id.slice(0, 12),
        kind: container.Labels[LABEL.kind] as HelperContainer["kind"],
        createdAt: new Date(container.Created * 1000).toISOString(),
      }));
  }

  async removeHelper(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      if (!isDockerFailure(error, "missing")) throw this.errors.wrap(error, `remove helper container "${id}"`);
    }
  }

  async removeImage(reference: string): Promise<ImageRemoval> {
    try {
      await this.docker.getImage(reference).remove();
      this.log.info({ image: reference }, "removed pulled image");
      return "removed";
    } catch (error) {
      if (isDockerFailure(error, "missing")) return "missing";
      if (isDockerFailure(error, "conflict")) return "in_use";
      throw this.errors.wrap(error, `remove image "${reference}"`);
    }
  }

  async imagesInUse(): Promise<Set<string>> {
    const containers = await this.errors.call("list containers", () => this.docker.listContainers({ all: true }));
    const used = new Set<string>();
    for (const container of containers) {
      used.add(container.Image);
      used.add(container.ImageID);
    }
    return used;
  }
}
