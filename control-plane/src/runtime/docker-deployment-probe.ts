import type Docker from "dockerode";
import type { Logger } from "../log.js";
import { VERSION } from "../version.js";
import { AgentPayload } from "./agent-payload.js";
import { createDockerClient } from "./docker-client.js";
import { createDockerErrors, isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { LABEL } from "./labels.js";
import { NodeRuntimeCache, type NodeArch } from "./node-runtime-cache.js";

const NODE_ARCH: Record<string, NodeArch> = { amd64: "x64", x86_64: "x64", arm64: "arm64", aarch64: "arm64" };
const PROBE_TIMEOUT_MS = 15_000;

/** A local image as `plan` reports it. */
export interface ProbedImage {
  architecture: string;
  /** Set when the agent is baked in (label io.devhatchery.agent.version). */
  agentVersion: string | undefined;
}

/**
 * Read-only questions about a Docker engine for `devhatchery validate` and `plan`: it inspects and never creates,
 * pulls or removes anything. Failures are ControlPlaneErrors (DOCKER_UNAVAILABLE when the engine cannot be reached).
 */
export class DockerDeploymentProbe {
  private readonly docker: Docker;
  private readonly errors: DockerErrors;

  constructor(dockerHost: string | undefined, log: Logger) {
    this.docker = createDockerClient(dockerHost, { timeoutMs: PROBE_TIMEOUT_MS });
    this.errors = createDockerErrors(log);
  }

  async ping(): Promise<void> {
    await this.errors.call("reach the Docker engine", () => this.docker.ping());
  }

  /** The engine's architecture in Docker's words (x86_64, aarch64). */
  async engineArchitecture(): Promise<string> {
    return (await this.errors.call("ask the Docker engine for its details", () => this.docker.info()))
      .Architecture as string;
  }

  /** The engine's security options (docker info SecurityOptions), e.g. "name=seccomp,profile=default", "name=userns". */
  async securityOptions(): Promise<string[]> {
    return (
      (await this.errors.call("ask the Docker engine for its details", () => this.docker.info())).SecurityOptions ?? []
    );
  }

  async networkExists(name: string): Promise<boolean> {
    const networks = await this.errors.call("list networks", () =>
      this.docker.listNetworks({ filters: { name: [name] } }),
    );
    return networks.some((network) => network.Name === name);
  }

  async volumeExists(name: string): Promise<boolean> {
    return this.exists(`inspect volume "${name}"`, () => this.docker.getVolume(name).inspect());
  }

  async image(name: string): Promise<ProbedImage | undefined> {
    try {
      const info = await this.docker.getImage(name).inspect();
      return { architecture: info.Architecture, agentVersion: info.Config?.Labels?.[LABEL.agentVersion] };
    } catch (error) {
      if (isDockerFailure(error, "missing")) return undefined;
      throw this.errors.wrap(error, `inspect image "${name}"`);
    }
  }

  /** The name of the agent volume runners of `architecture` (Docker's name) would mount, or undefined for one the agent does not exist for. */
  async agentVolumeName(
    architecture: string,
    agent: { bundlePath: string; cacheDir: string },
    log: Logger,
  ): Promise<string | undefined> {
    const arch = NODE_ARCH[architecture];
    if (!arch) return undefined;
    const payload = new AgentPayload(
      agent.bundlePath,
      VERSION,
      new NodeRuntimeCache({ cacheDir: agent.cacheDir }, log),
    );
    return payload.volumeName(await payload.snapshot(), arch);
  }

  private async exists(what: string, inspect: () => Promise<unknown>): Promise<boolean> {
    try {
      await inspect();
      return true;
    } catch (error) {
      if (isDockerFailure(error, "missing")) return false;
      throw this.errors.wrap(error, what);
    }
  }
}
