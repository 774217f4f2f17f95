import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { VERSION } from "../version.js";
import { AgentPayload } from "./agent-payload.js";
import { AgentVolumeKeeper, type AgentVolumeTiming } from "./agent-volume-keeper.js";
import {
  createMemoryTokenVault,
  type ContainerRuntime,
  type ImageInfo,
  type LocalImage,
  type PullProgress,
  type RunnerContainer,
  type RunnerContainerSpec,
  type RunnerEvent,
  type RunnerSnapshot,
  type SnapshotSpec,
  type RunnerTokenVault,
  type WorkspaceVolume,
} from "./container-runtime.js";
import { DockerAgentVolumeStore } from "./docker-agent-volume-store.js";
import { createDockerClient } from "./docker-client.js";
import { createDockerErrors, statusCode, type DockerErrors } from "./docker-errors.js";
import { pullDockerImage } from "./docker-image-pull.js";
import { demuxDockerLog } from "./docker-log.js";
import { DockerNetworks } from "./docker-networks.js";
import { toRunnerContainer } from "./docker-runner-container.js";
import { watchDockerRunnerEvents } from "./docker-runner-events.js";
import { runnerContainerName, toRunnerCreateOptions, type AgentSettings } from "./docker-runner-spec.js";
import { deliverAgentToken, legacyEnvToken } from "./docker-agent-token.js";
import { DockerSnapshots } from "./docker-snapshots.js";
import { prepareHardenedWorkspace } from "./docker-workspace-ownership.js";
import { DockerWorkspaceVolumes } from "./docker-workspace-volumes.js";
import { DEFAULT_INSTANCE_SCOPE, type InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";
import { NodeRuntimeCache, type NodeRuntimeCacheOptions } from "./node-runtime-cache.js";

/** Where the injected agent comes from: the bundle on disk and a cache for its Node runtimes. */
export interface AgentDeliveryOptions extends NodeRuntimeCacheOptions {
  /** Path of the agent bundle, runner-agent/dist/agent.cjs. */
  bundlePath: string;
  /** The agent version that names and labels agent volumes; defaults to the control plane's version. */
  version?: string;
  timing?: AgentVolumeTiming;
}

/** How the runtime sets up each agent beyond its delivery. */
export interface RunnerAgentOptions {
  /** Where runner tokens live between starts; in memory when omitted (lost when the process ends). */
  tokens?: RunnerTokenVault;
  /** Spilled exec output each agent keeps for all its processes together (config limits.exec_output_mb). */
  execOutputMb?: number;
}

const DEFAULT_EXEC_OUTPUT_MB = 1024;

/** The dockerode implementation of ContainerRuntime; with the other docker-*.ts files, the only code that talks to Docker. */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly agentVolumes: AgentVolumeKeeper;
  private readonly errors: DockerErrors;
  private readonly networks: DockerNetworks;
  private readonly workspaces: DockerWorkspaceVolumes;
  private readonly snapshots: DockerSnapshots;
  private readonly tokens: RunnerTokenVault;
  private readonly execOutputMb: number;

  constructor(
    private readonly log: Logger,
    dockerHost: string | undefined,
    agent: AgentDeliveryOptions,
    /** Which objects on the engine are this control plane's (label io.devhatchery.instance). */
    private readonly scope: InstanceScope = DEFAULT_INSTANCE_SCOPE,
    runnerAgent: RunnerAgentOptions = {},
  ) {
    this.tokens = runnerAgent.tokens ?? createMemoryTokenVault();
    this.execOutputMb = runnerAgent.execOutputMb ?? DEFAULT_EXEC_OUTPUT_MB;
    this.docker = createDockerClient(dockerHost);
    const payload = new AgentPayload(agent.bundlePath, agent.version ?? VERSION, new NodeRuntimeCache(agent, log));
    this.errors = createDockerErrors(log);
    this.agentVolumes = new AgentVolumeKeeper(new DockerAgentVolumeStore(this.docker, this.errors, log), payload, log, agent.timing);
    this.networks = new DockerNetworks(this.docker, this.errors, log, scope);
    this.workspaces = new DockerWorkspaceVolumes(this.docker, this.errors, log, scope);
    this.snapshots = new DockerSnapshots(this.docker, this.errors, log, scope);
  }

  async ping(): Promise<void> {
    await this.errors.call("reach the Docker engine", () => this.docker.ping());
  }

  ensureNetwork(name: string, options: { internal?: boolean } = {}): Promise<void> {
    return this.networks.ensure(name, options.internal === true);
  }

  async inspectImage(reference: string): Promise<LocalImage | undefined> {
    try {
      const info = await this.docker.getImage(reference).inspect();
      const labels = info.Config.Labels ?? {};
      const otherInstance = labels[LABEL.instance] !== undefined && !this.scope.owns(labels);
      return { ...toImageInfo(info), id: info.Id, tags: info.RepoTags ?? [], digests: info.RepoDigests ?? [], labels, otherInstance };
    } catch (error) {
      // 400: a reference the engine cannot parse names no image either.
      if (statusCode(error) === 404 || statusCode(error) === 400) return undefined;
      throw this.errors.wrap(error, `inspect image "${reference}"`);
    }
  }

  async pullImage(reference: string, onProgress?: (progress: PullProgress) => void): Promise<void> {
    this.log.info({ image: reference }, "pulling image");
    await pullDockerImage(this.docker, this.errors, reference, onProgress);
  }

  async ensureImage(image: string, onProgress?: (progress: PullProgress) => void): Promise<ImageInfo> {
    try {
      return toImageInfo(await this.docker.getImage(image).inspect());
    } catch (error) {
      if (statusCode(error) !== 404) throw this.errors.wrap(error, `inspect image "${image}"`);
    }
    this.log.info({ image }, "pulling image");
    await pullDockerImage(this.docker, this.errors, image, onProgress);
    return toImageInfo(await this.errors.call(`inspect image "${image}"`, () => this.docker.getImage(image).inspect()));
  }

  async ensureAgentVolume(architecture: string, helperImage: string, onProgress?: (status: string) => void): Promise<string> {
    return this.agentVolumes.ensure(architecture, helperImage, onProgress);
  }

  async startRunner(spec: RunnerContainerSpec): Promise<RunnerContainer> {
    const networkEnabled = await this.networks.hasOutboundAccess(spec.network);
    if (spec.hardened && spec.storage.kind === "volume") await prepareHardenedWorkspace(this.docker, this.errors, spec, spec.storage.volume);
    const agent: AgentSettings = { execOutputMb: this.execOutputMb, tokenOnStdin: await this.readsTokenOnStdin(spec) };
    // Kept before the container exists, so a runner never runs with a token this control plane could not find again.
    this.tokens.set(spec.runnerId, spec.token);
    let container: Docker.Container;
    try {
      container = await this.errors.call(`create a runner from "${spec.image}"`, () => this.docker.createContainer(toRunnerCreateOptions(spec, networkEnabled, agent, this.scope.labels())));
    } catch (error) {
      this.tokens.delete(spec.runnerId);
      throw error;
    }
    try {
      if (agent.tokenOnStdin) await deliverAgentToken(container, spec.token);
      else await container.start();
    } catch (error) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      this.tokens.delete(spec.runnerId);
      throw this.errors.wrap(error, `start a runner from "${spec.image}"`);
    }
    const started = await this.findRunner(spec.runnerId);
    if (!started) throw new ControlPlaneError("RUNNER_START_FAILED", `Runner "${spec.runnerId}" disappeared right after it was started.`);
    return started;
  }

  async findRunner(runnerId: string): Promise<RunnerContainer | undefined> {
    try {
      const info = await this.docker.getContainer(runnerContainerName(runnerId)).inspect();
      const labels = info.Config.Labels;
      if (labels?.[LABEL.runner] !== runnerId || labels[LABEL.kind] !== KIND.runner || !this.scope.owns(labels)) return undefined;
      // Runners created by an older version carry their token in Env; every other one's is in the vault.
      return { ...toRunnerContainer(info), token: legacyEnvToken(info) ?? this.tokens.get(runnerId) };
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw this.errors.wrap(error, `inspect runner "${runnerId}"`);
    }
  }

  async listRunners(principal: string): Promise<RunnerContainer[]> {
    const runners = await this.listByLabels([`${LABEL.owner}=${principal}`]);
    return runners.filter((runner) => runner.principal === principal);
  }

  listAllRunners(): Promise<RunnerContainer[]> {
    return this.listByLabels([`${LABEL.managed}=true`]);
  }

  async countUnservedLegacyObjects(): Promise<{ runners: number; volumes: number }> {
    if (this.scope.adoptUnlabelled) return { runners: 0, volumes: 0 };
    const [containers, volumes] = await Promise.all([
      this.errors.call("list runners", () => this.docker.listContainers({ all: true, filters: { label: [`${LABEL.kind}=${KIND.runner}`] } })),
      this.errors.call("list volumes", () => this.docker.listVolumes({ filters: { label: [`${LABEL.kind}=${KIND.workspace}`] } })),
    ]);
    const unlabelled = (labels: Record<string, string> | null | undefined): boolean => labels?.[LABEL.instance] === undefined;
    return { runners: containers.filter((container) => unlabelled(container.Labels)).length, volumes: (volumes.Volumes ?? []).filter((volume) => unlabelled(volume.Labels)).length };
  }

  private async listByLabels(labels: string[]): Promise<RunnerContainer[]> {
    const summaries = await this.errors.call("list runners", () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL.kind}=${KIND.runner}`, ...this.scope.labelFilter(), ...labels] } }),
    );
    const owned = summaries.filter((summary) => this.scope.owns(summary.Labels));
    const runners = await Promise.all(owned.map((summary) => this.findRunner(summary.Labels[LABEL.runner] ?? "")));
    return runners.filter((runner): runner is RunnerContainer => runner !== undefined);
  }

  async runnerLogs(runnerId: string, lines: number): Promise<string> {
    try {
      const raw = await this.docker.getContainer(runnerContainerName(runnerId)).logs({ stdout: true, stderr: true, tail: lines, follow: false });
      return demuxDockerLog(raw as unknown as Buffer);
    } catch (error) {
      if (statusCode(error) === 404) return "";
      throw this.errors.wrap(error, `read the logs of runner "${runnerId}"`);
    }
  }

  async removeRunner(runnerId: string): Promise<void> {
    try {
      // `v` removes anonymous volumes only (the agent's spill volume); named workspace volumes always survive the container.
      await this.docker.getContainer(runnerContainerName(runnerId)).remove({ force: true, v: true });
    } catch (error) {
      // 409: removal already in progress; the container is going away either way.
      if (statusCode(error) !== 404 && statusCode(error) !== 409) throw this.errors.wrap(error, `remove runner "${runnerId}"`);
    }
    this.tokens.delete(runnerId);
  }

  async stopRunner(runnerId: string, timeoutS: number): Promise<void> {
    try {
      await this.docker.getContainer(runnerContainerName(runnerId)).stop({ t: timeoutS });
    } catch (error) {
      if (statusCode(error) === 304) return;
      throw this.runnerError(error, runnerId, "stop");
    }
  }

  async restartRunner(runnerId: string): Promise<RunnerContainer> {
    const container = this.docker.getContainer(runnerContainerName(runnerId));
    try {
      const info = await container.inspect();
      if (!info.State.Running) await this.startAgain(container, info, runnerId);
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      if (statusCode(error) !== 304) throw this.runnerError(error, runnerId, "start");
    }
    const runner = await this.findRunner(runnerId);
    if (!runner) throw this.runnerError({ statusCode: 404 }, runnerId, "start");
    return runner;
  }

  ensureWorkspaceVolume(principal: string, workspaceKey: string, createdAt: string, image?: string): Promise<WorkspaceVolume> {
    return this.workspaces.ensure(principal, workspaceKey, createdAt, image);
  }

  findWorkspaceVolume(principal: string, workspaceKey: string): Promise<WorkspaceVolume | undefined> {
    return this.workspaces.find(principal, workspaceKey);
  }

  listWorkspaceVolumes(principal: string, options: { sizes?: boolean } = {}): Promise<WorkspaceVolume[]> {
    return this.workspaces.list(principal, options.sizes === true);
  }

  removeWorkspaceVolume(name: string): Promise<void> {
    return this.workspaces.remove(name);
  }

  commitRunner(runnerId: string, spec: SnapshotSpec): Promise<RunnerSnapshot> {
    return this.snapshots.commit(runnerId, spec);
  }

  listSnapshots(principal: string): Promise<RunnerSnapshot[]> {
    return this.snapshots.list(principal);
  }

  findSnapshot(principal: string, snapshotId: string): Promise<RunnerSnapshot | undefined> {
    return this.snapshots.find(principal, snapshotId);
  }

  removeSnapshot(principal: string, snapshotId: string): Promise<void> {
    return this.snapshots.remove(principal, snapshotId);
  }

  watchRunnerEvents(listener: (event: RunnerEvent) => void): () => void {
    return watchDockerRunnerEvents(this.docker, this.log, listener, undefined, this.scope);
  }

  /** Whether the runner's agent reads its token on stdin: an injected one does, a baked one when its image says so. */
  private async readsTokenOnStdin(spec: RunnerContainerSpec): Promise<boolean> {
    if (spec.agentVolume) return true;
    const labels = (await this.errors.call(`inspect image "${spec.image}"`, () => this.docker.getImage(spec.imageId ?? spec.image).inspect())).Config.Labels ?? {};
    if (labels[LABEL.agentToken] === "stdin") return true;
    this.log.warn({ image: spec.image, runner: spec.runnerId }, "the image's baked agent reads its token only from Env, where docker inspect shows it; rebuild the image with the current agent");
    return false;
  }

  /** Starts a stopped runner with its token on stdin; runners of older versions read theirs from Env and just start. */
  private async startAgain(container: Docker.Container, info: Docker.ContainerInspectInfo, runnerId: string): Promise<void> {
    if (!info.Config.OpenStdin) return void (await container.start());
    const token = this.tokens.get(runnerId);
    if (token === undefined) {
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Runner "${runnerId}" cannot be started again: this control plane does not hold its agent token (it was created with another state folder); remove it with runner_remove.`,
        { hint: "runner_remove deletes it (its workspace is kept); runner_attach with the workspace_key then gives the workspace a new runner." },
      );
    }
    await deliverAgentToken(container, token);
  }

  private runnerError(error: unknown, runnerId: string, verb: string): ControlPlaneError {
    if (statusCode(error) === 404) {
      return new ControlPlaneError("NOT_FOUND", `Cannot ${verb} runner "${runnerId}": its container no longer exists; spawn a new runner.`, {
        cause: error,
        hint: "runner_list shows what is left; runner_attach with the workspace_key gives its workspace a new runner, runner_spawn starts a fresh one.",
      });
    }
    return this.errors.wrap(error, `${verb} runner "${runnerId}"`);
  }
}

function toImageInfo(info: Docker.ImageInspectInfo): ImageInfo {
  return { architecture: info.Architecture, agentVersion: info.Config.Labels?.[LABEL.agentVersion] || undefined };
}
