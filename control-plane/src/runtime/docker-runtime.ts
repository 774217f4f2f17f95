import type Docker from "dockerode";
import type { Logger } from "../log.js";
import { VERSION } from "../version.js";
import { AgentPayload } from "./agent-payload.js";
import { AgentVolumeKeeper, type AgentVolumeTiming } from "./agent-volume-keeper.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { DockerAgentVolumeStore } from "./docker-agent-volume-store.js";
import { createDockerClient } from "./docker-client.js";
import { DockerEngineStatus } from "./docker-engine-status.js";
import { createDockerErrors } from "./docker-errors.js";
import { DockerImages } from "./docker-images.js";
import { DockerLeftovers } from "./docker-leftovers.js";
import { DockerNetworks } from "./docker-networks.js";
import { DockerRunnerContainers } from "./docker-runner-containers.js";
import { watchDockerRunnerEvents } from "./docker-runner-events.js";
import { DockerSnapshots } from "./docker-snapshots.js";
import { DockerWorkspaceVolumes } from "./docker-workspace-volumes.js";
import { DEFAULT_INSTANCE_SCOPE, type InstanceScope } from "./instance-scope.js";
import { NodeRuntimeCache, type NodeRuntimeCacheOptions } from "./node-runtime-cache.js";
import type { RunnerEvent, RunnerEventFeed } from "./runner-events.js";
import { NO_CLAIMS, poolOfOwner, type RunnerOwnership } from "./runner-ownership.js";
import { createMemoryTokenVault, type RunnerTokenVault } from "./runner-token-vault.js";

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
  /** Who claimed pooled runners (the state store's runner_claims); no pools when omitted. */
  claims?: RunnerOwnership;
}

const DEFAULT_EXEC_OUTPUT_MB = 1024;

/** The dockerode implementation of ContainerRuntime: one Docker client shared by the docker-*.ts roles, the only code that talks to Docker. */
export class DockerRuntime implements ContainerRuntime {
  readonly engine: DockerEngineStatus;
  readonly containers: DockerRunnerContainers;
  readonly images: DockerImages;
  readonly networks: DockerNetworks;
  readonly workspaces: DockerWorkspaceVolumes;
  readonly snapshots: DockerSnapshots;
  readonly agentVolumes: AgentVolumeKeeper;
  readonly leftovers: DockerLeftovers;
  readonly events: RunnerEventFeed;

  constructor(
    log: Logger,
    dockerHost: string | undefined,
    agent: AgentDeliveryOptions,
    /** Which objects on the engine are this control plane's (label io.devhatchery.instance). */
    scope: InstanceScope = DEFAULT_INSTANCE_SCOPE,
    runnerAgent: RunnerAgentOptions = {},
  ) {
    const docker: Docker = createDockerClient(dockerHost);
    const errors = createDockerErrors(log);
    const payload = new AgentPayload(agent.bundlePath, agent.version ?? VERSION, new NodeRuntimeCache(agent, log));
    this.engine = new DockerEngineStatus(docker, errors, scope);
    this.networks = new DockerNetworks(docker, errors, log, scope);
    const tokens = runnerAgent.tokens ?? createMemoryTokenVault();
    const claims = runnerAgent.claims ?? NO_CLAIMS;
    this.containers = new DockerRunnerContainers(
      docker,
      errors,
      log,
      scope,
      this.networks,
      tokens,
      runnerAgent.execOutputMb ?? DEFAULT_EXEC_OUTPUT_MB,
      claims,
    );
    this.images = new DockerImages(docker, errors, log, scope);
    this.workspaces = new DockerWorkspaceVolumes(docker, errors, log, scope);
    this.snapshots = new DockerSnapshots(docker, errors, log, scope);
    this.agentVolumes = new AgentVolumeKeeper(
      new DockerAgentVolumeStore(docker, errors, log),
      payload,
      log,
      agent.timing,
    );
    this.leftovers = new DockerLeftovers(docker, errors, log, payload);
    // A claimed pooled runner's events belong to its claimer; its labels name the pool.
    const claimer = claimerOf(claims);
    this.events = {
      watch: (listener) => watchDockerRunnerEvents(docker, log, (event) => listener(claimer(event)), undefined, scope),
    };
  }
}

/**
 * Maps a pooled runner's event to its claimer. The claim is forgotten when the runner is removed, before its
 * "destroy" event arrives, so the last claimers are remembered for that event.
 */
function claimerOf(claims: RunnerOwnership): (event: RunnerEvent) => RunnerEvent {
  const recent = new Map<string, string>();
  return (event) => {
    if (poolOfOwner(event.principal) === undefined) return event;
    const principal = claims.get(event.runnerId)?.principal ?? recent.get(event.runnerId);
    if (principal === undefined) return event;
    recent.delete(event.runnerId);
    if (event.action !== "destroy") {
      recent.set(event.runnerId, principal);
      if (recent.size > 1000) recent.delete(recent.keys().next().value!);
    }
    return { ...event, principal };
  };
}
