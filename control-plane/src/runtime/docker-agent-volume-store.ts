import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { AgentVolumeStore } from "./agent-volume-keeper.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { KIND, LABEL } from "./labels.js";

/** Where helper containers mount an agent volume; they are never started. */
const HELPER_MOUNT_PATH = "/devhatchery-agent-volume";
const HELPER_ENTRYPOINT = ["/devhatchery-helper-is-never-started"];

function helperLabels(volume: string): Record<string, string> {
  return { [LABEL.managed]: "true", [LABEL.kind]: KIND.agentHelper, [LABEL.agentVolume]: volume };
}

/**
 * Agent volumes on Docker: created, filled and inspected through helper containers that are created from the
 * runner's own image but never started (so no image has to be pulled), with a lock container between fillers.
 */
export class DockerAgentVolumeStore implements AgentVolumeStore {
  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
  ) {}

  async volumeExists(volume: string): Promise<boolean> {
    try {
      await this.docker.getVolume(volume).inspect();
      return true;
    } catch (error) {
      if (isDockerFailure(error, "missing")) return false;
      throw this.errors.wrap(error, `inspect volume "${volume}"`);
    }
  }

  async createVolume(volume: string, labels: Record<string, string>): Promise<void> {
    await this.errors.call(`create volume "${volume}"`, () =>
      this.docker.createVolume({ Name: volume, Labels: labels }),
    );
  }

  async removeVolume(volume: string): Promise<void> {
    // Helpers left behind by a filler that died keep the volume in use; they are ours to remove.
    const helpers = await this.errors.call("list agent volume helpers", () =>
      this.docker.listContainers({
        all: true,
        filters: { volume: [volume], label: [`${LABEL.kind}=${KIND.agentHelper}`] },
      }),
    );
    await Promise.all(
      helpers.map((helper) =>
        this.docker
          .getContainer(helper.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    try {
      await this.docker.getVolume(volume).remove();
    } catch (error) {
      if (isDockerFailure(error, "missing")) return;
      if (!isDockerFailure(error, "conflict")) throw this.errors.wrap(error, `remove volume "${volume}"`);
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Agent volume "${volume}" is incomplete but still used by containers; remove them (\`docker ps -a --filter volume=${volume}\`) and spawn again.`,
        { cause: error },
      );
    }
  }

  async volumeHasFile(volume: string, path: string, helperImage: string): Promise<boolean> {
    const helper = await this.createHelper(
      `${volume}-check-${randomBytes(4).toString("hex")}`,
      volume,
      helperImage,
      true,
    );
    try {
      await helper.infoArchive({ path: `${HELPER_MOUNT_PATH}/${path}` });
      return true;
    } catch (error) {
      if (isDockerFailure(error, "missing")) return false;
      throw this.errors.wrap(error, `look for "${path}" in volume "${volume}"`);
    } finally {
      await helper.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  async writeToVolume(volume: string, helperImage: string, archives: Array<() => Readable>): Promise<void> {
    const name = `${volume}-fill`;
    await this.removeHelper(name);
    const helper = await this.createHelper(name, volume, helperImage, false);
    try {
      for (const archive of archives) {
        await this.errors.call(`write into volume "${volume}"`, () =>
          helper.putArchive(archive(), { path: HELPER_MOUNT_PATH }),
        );
      }
    } finally {
      await helper.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  async tryLock(volume: string, helperImage: string, staleMs: number): Promise<boolean> {
    const name = `${volume}-lock`;
    try {
      await this.docker.createContainer({
        name,
        Image: helperImage,
        Entrypoint: HELPER_ENTRYPOINT,
        Labels: helperLabels(volume),
        HostConfig: { NetworkMode: "none" },
      });
      return true;
    } catch (error) {
      if (!isDockerFailure(error, "conflict")) throw this.errors.wrap(error, `create the lock "${name}"`);
    }
    const holder = await this.docker
      .getContainer(name)
      .inspect()
      .catch(() => undefined);
    if (holder && Date.now() - Date.parse(holder.Created) > staleMs) {
      this.log.warn({ volume, lockedSince: holder.Created }, "breaking a stale agent volume lock");
      await this.removeHelper(name);
    }
    return false;
  }

  async unlock(volume: string): Promise<void> {
    await this.removeHelper(`${volume}-lock`);
  }

  private async createHelper(
    name: string,
    volume: string,
    image: string,
    readOnly: boolean,
  ): Promise<Docker.Container> {
    return this.errors.call(`create a helper container for volume "${volume}"`, () =>
      this.docker.createContainer({
        name,
        Image: image,
        Entrypoint: HELPER_ENTRYPOINT,
        Labels: helperLabels(volume),
        HostConfig: {
          NetworkMode: "none",
          Mounts: [{ Type: "volume", Source: volume, Target: HELPER_MOUNT_PATH, ReadOnly: readOnly }],
        },
      }),
    );
  }

  private async removeHelper(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).remove({ force: true, v: true });
    } catch (error) {
      if (!isDockerFailure(error, "missing", "conflict"))
        throw this.errors.wrap(error, `remove the helper container "${name}"`);
    }
  }
}
