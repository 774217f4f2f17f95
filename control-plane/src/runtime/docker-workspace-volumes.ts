import { createHash } from "node:crypto";
import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { WorkspaceVolume, WorkspaceVolumes } from "./workspace-volumes.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { volumeUsers } from "./docker-volume-users.js";
import type { InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";

/**
 * The volume of a principal's workspace: a digest, so any key is a valid name and keys never clash across principals
 * nor across control plane instances; volumes made before instance labels digest no instance (`instance` undefined).
 */
export function workspaceVolumeName(principal: string, workspaceKey: string, instance?: string): string {
  const identity =
    instance === undefined ? `${principal}\0${workspaceKey}` : `${instance}\0${principal}\0${workspaceKey}`;
  return `devhatchery-ws-${createHash("sha256").update(identity).digest("hex").slice(0, 20)}`;
}

/** Workspace volumes on Docker: labelled with their owner and key; who uses them comes from the containers. */
const WORKSPACE_VOLUME_NOT_FOUND_HINT = "volume_list shows your workspaces and their volumes.";

export class DockerWorkspaceVolumes implements WorkspaceVolumes {
  private sizesInFlight: Promise<Map<string, number>> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
    private readonly scope: InstanceScope,
  ) {}

  async ensure(principal: string, workspaceKey: string, createdAt: string, image?: string): Promise<WorkspaceVolume> {
    const existing = await this.find(principal, workspaceKey);
    if (existing) return existing;
    const name = workspaceVolumeName(principal, workspaceKey, this.scope.instance);
    const labels = {
      ...this.scope.labels(),
      [LABEL.managed]: "true",
      [LABEL.kind]: KIND.workspace,
      [LABEL.owner]: principal,
      [LABEL.workspace]: workspaceKey,
      [LABEL.created]: createdAt,
      ...(image ? { [LABEL.image]: image } : {}),
    };
    // Creating a volume that exists returns it unchanged, so a concurrent creator's labels win and are read back.
    await this.errors.call(`create workspace volume "${name}"`, () =>
      this.docker.createVolume({ Name: name, Labels: labels }),
    );
    this.log.info({ volume: name, principal, workspace: workspaceKey }, "created workspace volume");
    const created = await this.find(principal, workspaceKey);
    if (!created)
      throw new ControlPlaneError(
        "INTERNAL",
        `Workspace volume "${name}" disappeared right after it was created; try again.`,
      );
    return created;
  }

  async find(principal: string, workspaceKey: string): Promise<WorkspaceVolume | undefined> {
    const names = [workspaceVolumeName(principal, workspaceKey, this.scope.instance)];
    if (this.scope.adoptUnlabelled) names.push(workspaceVolumeName(principal, workspaceKey));
    for (const name of names) {
      const info = await this.inspect(name);
      if (
        !info ||
        !this.scope.owns(info.Labels) ||
        info.Labels?.[LABEL.owner] !== principal ||
        info.Labels[LABEL.workspace] !== workspaceKey
      )
        continue;
      return toWorkspaceVolume(info, await this.users([name]), undefined);
    }
    return undefined;
  }

  async list(principal: string, options: { sizes?: boolean } = {}): Promise<WorkspaceVolume[]> {
    return this.listWhere(principal, options);
  }

  async listAll(options: { sizes?: boolean } = {}): Promise<WorkspaceVolume[]> {
    return this.listWhere(undefined, options);
  }

  /** The workspace volumes of `principal`, or of every principal. */
  private async listWhere(principal: string | undefined, options: { sizes?: boolean }): Promise<WorkspaceVolume[]> {
    const owner = principal === undefined ? [] : [`${LABEL.owner}=${principal}`];
    const { Volumes: volumes } = await this.errors.call("list workspace volumes", () =>
      this.docker.listVolumes({
        filters: { label: [`${LABEL.kind}=${KIND.workspace}`, ...owner, ...this.scope.labelFilter()] },
      }),
    );
    const owned = (volumes ?? []).filter(
      (volume) =>
        (principal === undefined
          ? volume.Labels?.[LABEL.owner] !== undefined
          : volume.Labels?.[LABEL.owner] === principal) && this.scope.owns(volume.Labels),
    );
    if (owned.length === 0) return [];
    const [users, sizeByName] = await Promise.all([
      this.users(owned.map((volume) => volume.Name)),
      options.sizes === true ? this.sizes() : undefined,
    ]);
    return owned.map((volume) => toWorkspaceVolume(volume, users, sizeByName?.get(volume.Name)));
  }

  /** VOLUME_IN_USE while a container (running or not) mounts it; refuses volumes that are not workspaces. */
  async remove(name: string): Promise<void> {
    const info = await this.inspect(name);
    if (info?.Labels?.[LABEL.kind] !== KIND.workspace || !this.scope.owns(info.Labels)) {
      throw new ControlPlaneError(
        "NOT_FOUND",
        `Workspace volume "${name}" does not exist; list the workspace volumes to find its name.`,
        { hint: WORKSPACE_VOLUME_NOT_FOUND_HINT },
      );
    }
    try {
      await this.docker.getVolume(name).remove();
      this.log.info({ volume: name }, "removed workspace volume");
    } catch (error) {
      if (isDockerFailure(error, "missing")) {
        throw new ControlPlaneError(
          "NOT_FOUND",
          `Workspace volume "${name}" does not exist; list the workspace volumes to find its name.`,
          { cause: error, hint: WORKSPACE_VOLUME_NOT_FOUND_HINT },
        );
      }
      if (!isDockerFailure(error, "conflict")) throw this.errors.wrap(error, `remove workspace volume "${name}"`);
      const users = (await this.users([name])).get(name) ?? [];
      throw new ControlPlaneError(
        "VOLUME_IN_USE",
        `Workspace volume "${name}" is still mounted by ${users.length > 0 ? users.map((user) => `"${user}"`).join(", ") : "a container"}; ` +
          "remove those runners first (stopped ones count too), then remove the volume.",
        {
          cause: error,
          hint: "runner_list shows which runners mount it, stopped ones too; runner_remove them, then call volume_remove again.",
        },
      );
    }
  }

  private async inspect(name: string): Promise<Docker.VolumeInspectInfo | undefined> {
    try {
      return await this.docker.getVolume(name).inspect();
    } catch (error) {
      if (isDockerFailure(error, "missing")) return undefined;
      throw this.errors.wrap(error, `inspect volume "${name}"`);
    }
  }

  private users(names: string[]): Promise<Map<string, string[]>> {
    return volumeUsers(this.docker, this.errors, names, "workspace volumes");
  }

  private async sizes(): Promise<Map<string, number>> {
    // One disk usage walk at a time serves every caller of this process that asks meanwhile.
    this.sizesInFlight ??= this.readSizes().finally(() => (this.sizesInFlight = undefined));
    return this.sizesInFlight;
  }

  private async readSizes(): Promise<Map<string, number>> {
    const usage = (await this.errors.call("read the disk usage of volumes", () => diskUsage(this.docker))) as {
      Volumes?: Docker.VolumeInspectInfo[] | null;
    };
    const sizes = new Map<string, number>();
    for (const volume of usage.Volumes ?? []) {
      if (volume.UsageData && volume.UsageData.Size >= 0) sizes.set(volume.Name, volume.UsageData.Size);
    }
    return sizes;
  }
}

/** How often, and how far apart, a disk usage walk refused because another one runs is tried again. */
const DF_ATTEMPTS = 20;
const DF_RETRY_MS = 250;

/**
 * `docker system df`. The engine (20.10) runs one disk usage walk at a time and answers any other with HTTP 500 "a
 * disk usage operation is already running" (another control plane, a CLI): that one is waited out, for about 5 s.
 */
async function diskUsage(docker: Docker): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await docker.df();
    } catch (error) {
      const busy = /disk usage operation is already running/i.test(String((error as Error).message ?? error));
      if (!busy || attempt >= DF_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, DF_RETRY_MS));
    }
  }
}

function toWorkspaceVolume(
  info: Docker.VolumeInspectInfo,
  users: Map<string, string[]>,
  sizeBytes: number | undefined,
): WorkspaceVolume {
  const labels = info.Labels ?? {};
  return {
    name: info.Name,
    principal: labels[LABEL.owner] ?? "",
    workspaceKey: labels[LABEL.workspace] ?? "",
    createdAt: labels[LABEL.created] ?? "",
    image: labels[LABEL.image] || undefined,
    sizeBytes,
    usedBy: users.get(info.Name) ?? [],
  };
}
