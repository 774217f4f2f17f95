import Docker from "dockerode";
import { AGENT_ENV } from "@devhatchery/proto/contract";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { VERSION } from "../version.js";
import { AGENT_ENTRYPOINT, AGENT_MOUNT_PATH, AgentPayload } from "./agent-payload.js";
import { AgentVolumeKeeper, type AgentVolumeTiming } from "./agent-volume-keeper.js";
import { DockerAgentVolumeStore } from "./docker-agent-volume-store.js";
import { createDockerErrors, statusCode, type DockerErrors } from "./docker-errors.js";
import type { ContainerRuntime, ContainerState, ImageInfo, PullProgress, RunnerContainer, RunnerContainerSpec } from "./container-runtime.js";
import { demuxDockerLog } from "./docker-log.js";
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

/** Capabilities dropped from Docker's default set: none is needed to install packages or build software. */
const DROPPED_CAPABILITIES = ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT", "SETPCAP"];
const DEFAULT_PIDS_LIMIT = 4096;
/** The agent's work directory; Docker creates it in injected runners (baked images create it themselves). */
const WORK_DIR = "/work";

function containerName(runnerId: string): string {
  return `devhatchery-${runnerId}`;
}

/** The dockerode implementation of ContainerRuntime; the only module that talks to Docker. */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly agentVolumes: AgentVolumeKeeper;
  private readonly errors: DockerErrors;
  private readonly networks = new Map<string, Promise<void>>();

  constructor(
    private readonly log: Logger,
    dockerHost: string | undefined,
    agent: AgentDeliveryOptions,
  ) {
    this.docker = dockerHost ? new Docker(parseDockerHost(dockerHost)) : new Docker();
    const payload = new AgentPayload(agent.bundlePath, agent.version ?? VERSION, new NodeRuntimeCache(agent, log));
    this.errors = createDockerErrors(log);
    this.agentVolumes = new AgentVolumeKeeper(new DockerAgentVolumeStore(this.docker, this.errors, log), payload, log, agent.timing);
  }

  async ping(): Promise<void> {
    await this.errors.call("reach the Docker engine", () => this.docker.ping());
  }

  /**
   * Creates the network if it is missing. Concurrent calls share one check-and-create (Docker 20.10 would create
   * duplicates with the same name); later calls check again, so a network removed meanwhile is recreated.
   */
  ensureNetwork(name: string): Promise<void> {
    let pending = this.networks.get(name);
    if (!pending) {
      pending = this.createNetworkIfMissing(name).finally(() => this.networks.delete(name));
      this.networks.set(name, pending);
    }
    return pending;
  }

  private async createNetworkIfMissing(name: string): Promise<void> {
    const existing = await this.errors.call("list networks", () => this.docker.listNetworks({ filters: { name: [name] } }));
    if (existing.some((network) => network.Name === name)) return;
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: { [LABEL.managed]: "true", [LABEL.kind]: KIND.network },
        // Runners must not reach each other (nor each other's agents); the control plane reaches them from the host.
        Options: { "com.docker.network.bridge.enable_icc": "false" },
      });
      this.log.info({ network: name }, "created runner network");
    } catch (error) {
      if (statusCode(error) !== 409) throw this.errors.wrap(error, `create network "${name}"`);
    }
  }

  async ensureImage(image: string, onProgress?: (progress: PullProgress) => void): Promise<ImageInfo> {
    try {
      return toImageInfo(await this.docker.getImage(image).inspect());
    } catch (error) {
      if (statusCode(error) !== 404) throw this.errors.wrap(error, `inspect image "${image}"`);
    }
    this.log.info({ image }, "pulling image");
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (error: Error | null) => (error ? reject(error) : resolve()),
          (event: { status?: string; progressDetail?: { current?: number; total?: number } }) => {
            const { current, total } = event.progressDetail ?? {};
            onProgress?.({ status: event.status ?? "pulling", fraction: current && total ? current / total : undefined });
          },
        );
      });
    } catch (error) {
      throw new ControlPlaneError(
        "IMAGE_NOT_FOUND",
        `Image "${image}" is not present locally and could not be pulled (${(error as Error).message.trim()}). ` +
          "Check the name and tag, or pull or build it on the host (`npm run images` builds devhatchery/runner:latest).",
        { cause: error },
      );
    }
    return toImageInfo(await this.errors.call(`inspect image "${image}"`, () => this.docker.getImage(image).inspect()));
  }

  async ensureAgentVolume(architecture: string, helperImage: string, onProgress?: (status: string) => void): Promise<string> {
    return this.agentVolumes.ensure(architecture, helperImage, onProgress);
  }

  async startRunner(spec: RunnerContainerSpec): Promise<RunnerContainer> {
    const container = await this.errors.call(`create a runner from "${spec.image}"`, () =>
      this.docker.createContainer({
        name: containerName(spec.runnerId),
        Image: spec.image,
        Hostname: spec.runnerId,
        Env: [`${AGENT_ENV.token}=${spec.token}`, `${AGENT_ENV.port}=${spec.agentPort}`],
        ...(spec.agentVolume ? { Entrypoint: AGENT_ENTRYPOINT, Cmd: [], WorkingDir: WORK_DIR } : {}),
        Labels: {
          [LABEL.managed]: "true",
          [LABEL.kind]: KIND.runner,
          [LABEL.owner]: spec.principal,
          [LABEL.runner]: spec.runnerId,
          [LABEL.created]: spec.createdAt,
          [LABEL.image]: spec.image,
        },
        HostConfig: {
          Init: true,
          NetworkMode: spec.network,
          CapDrop: DROPPED_CAPABILITIES,
          SecurityOpt: ["no-new-privileges:true"],
          PidsLimit: DEFAULT_PIDS_LIMIT,
          RestartPolicy: { Name: "no" },
          Mounts: [
            ...(spec.agentVolume ? [{ Type: "volume" as const, Source: spec.agentVolume, Target: AGENT_MOUNT_PATH, ReadOnly: true }] : []),
            ...(spec.binds ?? []).map((bind) => ({ Type: "bind" as const, Source: bind.source, Target: bind.target, ReadOnly: bind.readOnly })),
          ],
        },
      }),
    );
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw this.errors.wrap(error, `start a runner from "${spec.image}"`);
    }
    const started = await this.findRunner(spec.runnerId);
    if (!started) throw new ControlPlaneError("RUNNER_START_FAILED", `Runner "${spec.runnerId}" disappeared right after it was started.`);
    return started;
  }

  async findRunner(runnerId: string): Promise<RunnerContainer | undefined> {
    try {
      const info = await this.docker.getContainer(containerName(runnerId)).inspect();
      if (info.Config.Labels?.[LABEL.runner] !== runnerId || info.Config.Labels[LABEL.kind] !== KIND.runner) return undefined;
      return toRunnerContainer(info);
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw this.errors.wrap(error, `inspect runner "${runnerId}"`);
    }
  }

  async listRunners(principal: string): Promise<RunnerContainer[]> {
    const summaries = await this.errors.call("list runners", () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL.kind}=${KIND.runner}`, `${LABEL.owner}=${principal}`] } }),
    );
    const runners = await Promise.all(summaries.map((summary) => this.findRunner(summary.Labels[LABEL.runner] ?? "")));
    return runners.filter((runner): runner is RunnerContainer => runner !== undefined && runner.principal === principal);
  }

  async runnerLogs(runnerId: string, lines: number): Promise<string> {
    try {
      const raw = await this.docker.getContainer(containerName(runnerId)).logs({ stdout: true, stderr: true, tail: lines, follow: false });
      return demuxDockerLog(raw as unknown as Buffer);
    } catch (error) {
      if (statusCode(error) === 404) return "";
      throw this.errors.wrap(error, `read the logs of runner "${runnerId}"`);
    }
  }

  async removeRunner(runnerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerName(runnerId)).remove({ force: true, v: true });
    } catch (error) {
      if (statusCode(error) === 404) return;
      // 409: removal already in progress; the container is going away either way.
      if (statusCode(error) === 409) return;
      throw this.errors.wrap(error, `remove runner "${runnerId}"`);
    }
  }
}

function toImageInfo(info: Docker.ImageInspectInfo): ImageInfo {
  return { architecture: info.Architecture, agentVersion: info.Config.Labels?.[LABEL.agentVersion] || undefined };
}

function toRunnerContainer(info: Docker.ContainerInspectInfo): RunnerContainer {
  const labels = info.Config.Labels ?? {};
  const networks = Object.values(info.NetworkSettings.Networks ?? {});
  const tokenEntry = (info.Config.Env ?? []).find((entry) => entry.startsWith(`${AGENT_ENV.token}=`));
  return {
    containerId: info.Id,
    runnerId: labels[LABEL.runner] ?? "",
    principal: labels[LABEL.owner] ?? "",
    image: labels[LABEL.image] ?? info.Config.Image,
    state: info.State.Status as ContainerState,
    createdAt: labels[LABEL.created] ?? info.Created,
    address: networks.find((network) => network.IPAddress)?.IPAddress || undefined,
    token: tokenEntry?.slice(AGENT_ENV.token.length + 1),
    exitCode: info.State.Running ? undefined : info.State.ExitCode,
    binds: (info.Mounts ?? [])
      .filter((mount) => mount.Type === "bind")
      .map((mount) => ({ source: mount.Source, target: mount.Destination, readOnly: !mount.RW })),
  };
}

/** Accepts unix:///path, tcp://host:port and http(s)://host:port. */
function parseDockerHost(dockerHost: string): Docker.DockerOptions {
  const url = new URL(dockerHost);
  if (url.protocol === "unix:") return { socketPath: url.pathname };
  const protocol = url.protocol === "https:" ? "https" : "http";
  return { protocol, host: url.hostname, port: Number(url.port || (protocol === "https" ? 2376 : 2375)) };
}
