import type { AgentVolumes } from "./agent-volumes.js";
import type { EngineLeftovers } from "./engine-leftovers.js";
import type { EngineStatus } from "./engine-status.js";
import type { RunnerContainers } from "./runner-containers.js";
import type { RunnerEventFeed } from "./runner-events.js";
import type { RunnerImages } from "./runner-images.js";
import type { RunnerNetworks } from "./runner-networks.js";
import type { RunnerSnapshots } from "./runner-snapshots.js";
import type { WorkspaceVolumes } from "./workspace-volumes.js";

/**
 * What the control plane asks of a container engine, as small roles a second engine implements one by one. The
 * Docker implementation is docker-runtime.ts; callers take only the roles they use (`Pick<ContainerRuntime, "images">`).
 */
export interface ContainerRuntime {
  readonly engine: EngineStatus;
  readonly containers: RunnerContainers;
  readonly images: RunnerImages;
  readonly networks: RunnerNetworks;
  readonly workspaces: WorkspaceVolumes;
  readonly snapshots: RunnerSnapshots;
  readonly agentVolumes: AgentVolumes;
  readonly leftovers: EngineLeftovers;
  readonly events: RunnerEventFeed;
}

/** The names of the roles, for code that wraps each one (tracing). */
export const RUNTIME_ROLES = [
  "engine",
  "containers",
  "images",
  "networks",
  "workspaces",
  "snapshots",
  "agentVolumes",
  "leftovers",
  "events",
] as const satisfies readonly (keyof ContainerRuntime)[];

/** Wraps every role of `runtime` with `wrap` (which returns an object of the same shape, e.g. a tracing proxy). */
export function mapRuntimeRoles(
  runtime: ContainerRuntime,
  wrap: <T extends object>(role: T, name: keyof ContainerRuntime) => T,
): ContainerRuntime {
  return Object.fromEntries(
    RUNTIME_ROLES.map((name) => [name, wrap(runtime[name], name)]),
  ) as unknown as ContainerRuntime;
}
