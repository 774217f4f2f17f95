import { createHash } from "node:crypto";
import type Docker from "dockerode";
import { AGENT_ENV_PREFIX } from "@devhatchery/proto/contract";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import {
  SNAPSHOT_REPOSITORY,
  type RunnerSnapshot,
  type RunnerSnapshots,
  type SnapshotSpec,
} from "./runner-snapshots.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { runnerContainerName } from "./docker-runner-spec.js";
import type { InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";

/** The repository of a principal's snapshots: a digest, so any principal name is valid and principals never share one. */
export function snapshotRepository(principal: string): string {
  return `${SNAPSHOT_REPOSITORY}/${createHash("sha256").update(principal).digest("hex").slice(0, 20)}`;
}

export function snapshotImageRef(principal: string, snapshotId: string): string {
  return `${snapshotRepository(principal)}:${snapshotId}`;
}

/** How many snapshot images' own-layer sizes are remembered at most. */
const MAX_KNOWN_LAYERS = 10_000;

/** Snapshot images on Docker: `docker commit` of runner containers, labelled with owner, id and source. */
export class DockerSnapshots implements RunnerSnapshots {
  /** Snapshot image → its own layer's bytes; an image's layers never change, so an entry never goes stale. */
  private readonly ownLayerBytes = new Map<string, number>();

  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
    private readonly scope: InstanceScope,
  ) {}

  async commit(runnerId: string, spec: SnapshotSpec): Promise<RunnerSnapshot> {
    const containerName = runnerContainerName(runnerId);
    const container = await this.errors.call(`inspect runner "${runnerId}" to snapshot it`, () =>
      this.docker.getContainer(containerName).inspect(),
    );
    const source = await this.errors.call(`inspect the image of runner "${runnerId}"`, () =>
      this.docker.getImage(container.Image).inspect(),
    );
    const image = snapshotImageRef(spec.principal, spec.snapshotId);
    const config = commitConfig(container, source, spec, runnerId, this.scope.labels());
    // dockerode sends every option as a query parameter; the config the engine merges with the container's goes in the body.
    const options = {
      _query: {
        container: containerName,
        repo: snapshotRepository(spec.principal),
        tag: spec.snapshotId,
        pause: true,
        comment: `DevHatchery snapshot of ${runnerId}`,
      },
      _body: config,
    };
    await this.errors.call(`commit runner "${runnerId}" into snapshot "${spec.snapshotId}"`, () =>
      this.docker.getContainer(containerName).commit(options),
    );
    this.log.info(
      { runner: runnerId, principal: spec.principal, snapshot: spec.snapshotId, image },
      "committed snapshot",
    );
    const snapshot = await this.find(spec.principal, spec.snapshotId);
    if (!snapshot)
      throw new ControlPlaneError(
        "INTERNAL",
        `Snapshot "${spec.snapshotId}" disappeared right after it was committed; try again.`,
      );
    return snapshot;
  }

  async find(principal: string, snapshotId: string): Promise<RunnerSnapshot | undefined> {
    const image = snapshotImageRef(principal, snapshotId);
    try {
      const info = await this.docker.getImage(image).inspect();
      const labels = info.Config.Labels ?? {};
      if (
        labels[LABEL.kind] !== KIND.snapshot ||
        labels[LABEL.owner] !== principal ||
        labels[LABEL.snapshot] !== snapshotId ||
        !this.scope.owns(labels)
      )
        return undefined;
      return toSnapshot(image, labels, info.Size);
    } catch (error) {
      if (isDockerFailure(error, "missing")) return undefined;
      throw this.errors.wrap(error, `inspect snapshot image "${image}"`);
    }
  }

  async list(principal: string): Promise<RunnerSnapshot[]> {
    return this.listWhere(principal);
  }

  async listAll(): Promise<RunnerSnapshot[]> {
    return this.listWhere(undefined);
  }

  /** The snapshots of `principal`, or of every principal, newest first. */
  private async listWhere(principal: string | undefined): Promise<RunnerSnapshot[]> {
    const owner = principal === undefined ? [] : [`${LABEL.owner}=${principal}`];
    const images = await this.errors.call("list snapshot images", () =>
      this.docker.listImages({
        filters: { label: [`${LABEL.kind}=${KIND.snapshot}`, ...owner, ...this.scope.labelFilter()] },
      }),
    );
    const snapshots: RunnerSnapshot[] = [];
    for (const summary of images) {
      const labels = summary.Labels ?? {};
      const snapshotId = labels[LABEL.snapshot] ?? "";
      const labelOwner = labels[LABEL.owner] ?? "";
      const image = snapshotImageRef(labelOwner, snapshotId);
      // An untagged image with these labels is a removed snapshot kept only as the base of a later one.
      if (
        labelOwner !== "" &&
        (principal === undefined || labelOwner === principal) &&
        this.scope.owns(labels) &&
        (summary.RepoTags ?? []).includes(image)
      )
        snapshots.push(toSnapshot(image, labels, summary.Size));
    }
    return snapshots.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async remove(principal: string, snapshotId: string): Promise<void> {
    const image = snapshotImageRef(principal, snapshotId);
    const info = await this.errors.call(`inspect snapshot image "${image}"`, () =>
      this.docker.getImage(image).inspect(),
    );
    if (!this.scope.owns(info.Config.Labels)) {
      throw new ControlPlaneError(
        "NOT_FOUND",
        `Snapshot "${snapshotId}" not found for this principal; list snapshots with snapshot_list.`,
        {
          hint: "snapshot_list shows your snapshots by id and name.",
        },
      );
    }
    const imageId = info.Id;
    const users = await this.users(image, imageId);
    if (users.length > 0) throw snapshotInUse(snapshotId, users);
    try {
      await this.docker.getImage(image).remove();
      this.log.info({ principal, snapshot: snapshotId, image }, "removed snapshot image");
    } catch (error) {
      if (!isDockerFailure(error, "conflict")) throw this.errors.wrap(error, `remove snapshot image "${image}"`);
      throw snapshotInUse(snapshotId, await this.users(image, imageId), error);
    }
  }

  async addedBytes(image: string): Promise<number> {
    const known = this.ownLayerBytes.get(image);
    if (known !== undefined) return known;
    // A commit adds exactly one layer on top of the runner's image: the newest entry of the image's history.
    const history = (await this.errors.call(`read the layers of snapshot image "${image}"`, () =>
      this.docker.getImage(image).history(),
    )) as Array<{ Size?: number }>;
    const bytes = history[0]?.Size ?? 0;
    // Bounded without bookkeeping: forgetting every entry only costs one history call per snapshot again.
    if (this.ownLayerBytes.size >= MAX_KNOWN_LAYERS) this.ownLayerBytes.clear();
    this.ownLayerBytes.set(image, bytes);
    return bytes;
  }

  /** The runner ids (or, for other containers, names) of every container, running or not, created from exactly this image. */
  private async users(image: string, imageId: string): Promise<string[]> {
    const containers = await this.errors.call(`list the containers using "${image}"`, () =>
      this.docker.listContainers({ all: true, filters: { ancestor: [image] } }),
    );
    return containers
      .filter((container) => container.ImageID === imageId)
      .map((container) => container.Labels[LABEL.runner] || container.Names[0]?.replace(/^\//, "") || container.Id);
  }
}

/**
 * The image config to commit: the source image's command, user and working directory (not the injected agent's
 * entrypoint or the hardened user), the container's environment without the agent's token, and the source image's
 * labels plus ours. The engine merges in every container setting the body leaves out (and every label: the
 * container's own runner labels are blanked, or runners spawned from the snapshot would inherit its alias).
 */
function commitConfig(
  container: Docker.ContainerInspectInfo,
  source: Docker.ImageInspectInfo,
  spec: SnapshotSpec,
  runnerId: string,
  instanceLabels: Record<string, string>,
): Record<string, unknown> {
  const imageEnv = new Set(source.Config.Env ?? []);
  const env = (container.Config.Env ?? []).map((entry) =>
    entry.startsWith(AGENT_ENV_PREFIX) && !imageEnv.has(entry) ? `${entry.split("=")[0]}=` : entry,
  );
  const containerLabels = container.Config.Labels ?? {};
  const blanked = Object.fromEntries(Object.keys(containerLabels).map((key) => [key, ""]));
  const labels = {
    ...blanked,
    ...(source.Config.Labels ?? {}),
    [LABEL.managed]: "true",
    ...instanceLabels,
    [LABEL.kind]: KIND.snapshot,
    [LABEL.owner]: spec.principal,
    [LABEL.snapshot]: spec.snapshotId,
    [LABEL.snapshotName]: spec.name ?? "",
    [LABEL.sourceRunner]: runnerId,
    [LABEL.sourceImage]: containerLabels[LABEL.image] ?? container.Config.Image,
    [LABEL.created]: spec.createdAt,
  };
  return {
    Env: env,
    Labels: labels,
    // An empty list (not null) keeps the engine from filling in the injected agent's entrypoint.
    Entrypoint: source.Config.Entrypoint ?? [],
    Cmd: source.Config.Cmd ?? [],
    WorkingDir: source.Config.WorkingDir ?? "",
    // An empty user would inherit the container's (the hardened profile's); root is what the image meant.
    User: source.Config.User || "0:0",
  };
}

function toSnapshot(image: string, labels: Record<string, string>, sizeBytes: number): RunnerSnapshot {
  return {
    snapshotId: labels[LABEL.snapshot] ?? "",
    principal: labels[LABEL.owner] ?? "",
    name: labels[LABEL.snapshotName] || undefined,
    image,
    sourceRunner: labels[LABEL.sourceRunner] ?? "",
    sourceImage: labels[LABEL.sourceImage] ?? "",
    createdAt: labels[LABEL.created] ?? "",
    sizeBytes,
  };
}

function snapshotInUse(snapshotId: string, users: string[], cause?: unknown): ControlPlaneError {
  const names = users.length > 0 ? `runner ${users.map((user) => `"${user}"`).join(", ")}` : "a container";
  return new ControlPlaneError(
    "FAILED_PRECONDITION",
    `Snapshot "${snapshotId}" is still used by ${names} spawned from it; remove ${users.length > 1 ? "those runners" : "that runner"} with runner_remove first (stopped ones count too), then remove the snapshot.`,
    {
      cause,
      hint: "runner_list shows your runners, stopped ones too; runner_remove the ones spawned from this snapshot (their workspaces are kept), then call snapshot_remove again.",
    },
  );
}
