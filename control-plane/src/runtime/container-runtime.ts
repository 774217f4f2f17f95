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
  ensureImage(image: string, onProgress?: (progress: PullProgress) => void): Promise<void>;
  /** Creates and starts a runner container; removes it again if it cannot be started. */
  startRunner(spec: RunnerContainerSpec): Promise<RunnerContainer>;
  findRunner(runnerId: string): Promise<RunnerContainer | undefined>;
  listRunners(principal: string): Promise<RunnerContainer[]>;
  /** The last `lines` lines the container wrote to stdout and stderr. */
  runnerLogs(runnerId: string, lines: number): Promise<string>;
  /** Removes the container (forcefully); a container that is already gone is not an error. */
  removeRunner(runnerId: string): Promise<void>;
}
