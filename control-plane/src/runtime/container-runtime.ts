/** What the control plane asks of a container engine. The Docker implementation is docker-runtime.ts. */

export interface RunnerContainerSpec {
  runnerId: string;
  principal: string;
  image: string;
  /** The runner's agent token, passed to the agent in its environment. */
  token: string;
  agentPort: number;
  network: string;
  createdAt: string;
  /**
   * Injected delivery: the agent volume to mount read-only at /opt/devhatchery and run the agent from.
   * Undefined for images with the agent baked in, whose own entrypoint starts it.
   */
  agentVolume: string | undefined;
  /** Host folders to bind (already validated against the allowed roots); none when omitted. */
  binds?: HostBind[];
}

/** A host folder bound into a runner. */
export interface HostBind {
  /** The host path (symlinks already resolved). */
  source: string;
  /** Where it appears in the runner. */
  target: string;
  readOnly: boolean;
}

/** What the control plane needs to know about a local image. */
export interface ImageInfo {
  /** Docker's name for the image's architecture, e.g. amd64 or arm64. */
  architecture: string;
  /** The label io.devhatchery.agent.version: set when the agent is baked into the image. */
  agentVersion: string | undefined;
}

export type ContainerState = "created" | "running" | "paused" | "restarting" | "exited" | "removing" | "dead";

export interface RunnerContainer {
  containerId: string;
  runnerId: string;
  principal: string;
  image: string;
  state: ContainerState;
  createdAt: string;
  /** The container's address on the runner network, when it has one. */
  address: string | undefined;
  token: string | undefined;
  exitCode: number | undefined;
  /** The host folders bound into the runner. */
  binds: HostBind[];
}

export interface PullProgress {
  status: string;
  /** 0..1 when the engine reports byte counts. */
  fraction: number | undefined;
}

export interface ContainerRuntime {
  /** Fails with DOCKER_UNAVAILABLE when the engine cannot be reached. */
  ping(): Promise<void>;
  /** Creates the private runner network if it does not exist. */
  ensureNetwork(name: string): Promise<void>;
  /** Makes the image available locally, pulling it when missing. */
  ensureImage(image: string, onProgress?: (progress: PullProgress) => void): Promise<ImageInfo>;
  /**
   * Makes sure the read-only volume holding the agent and its Node runtime for `architecture` exists and is
   * complete (created and filled once, rebuilt when incomplete); returns its name. `helperImage` must be local.
   */
  ensureAgentVolume(architecture: string, helperImage: string, onProgress?: (status: string) => void): Promise<string>;
  /** Creates and starts a runner container; removes it again if it cannot be started. */
  startRunner(spec: RunnerContainerSpec): Promise<RunnerContainer>;
  findRunner(runnerId: string): Promise<RunnerContainer | undefined>;
  listRunners(principal: string): Promise<RunnerContainer[]>;
  /** The last `lines` lines the container wrote to stdout and stderr. */
  runnerLogs(runnerId: string, lines: number): Promise<string>;
  /** Removes the container (forcefully); a container that is already gone is not an error. */
  removeRunner(runnerId: string): Promise<void>;
}
