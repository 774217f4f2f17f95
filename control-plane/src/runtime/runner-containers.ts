import type { HostBind, RunnerContainerSpec, RunnerLimits, WorkspaceStorage } from "./runner-container-spec.js";

/** The engine's state of a container. */
export type ContainerState = "created" | "running" | "paused" | "restarting" | "exited" | "removing" | "dead";

/** A runner's container as the engine shows it now. */
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
  alias: string | undefined;
  workspaceKey: string | undefined;
  storage: WorkspaceStorage;
  limits: RunnerLimits;
  /** False when the runner was created without outbound network access. */
  networkEnabled: boolean;
  hardened: boolean;
  /** True when the engine reports the container was OOM-killed (its last run). */
  oomKilled: boolean;
  /** When its current or last run started and, when stopped, finished (ISO 8601). */
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** The host pid of the container's init process while it runs (the engine's view); undefined when stopped. */
  pid?: number | undefined;
  /** The warm pool it was created for (claimed or not); undefined for a runner spawned cold. */
  pool?: string | undefined;
  /** A claimed pooled runner: its claimer's env, which every exec gets (a cold runner's env is in its container). */
  env?: Record<string, string> | undefined;
}

/**
 * The runtime role that runs runner containers. Its methods name the runner, not the container, and keep the names
 * operators see as trace spans (`runtime startRunner`).
 */
export interface RunnerContainers {
  /** Creates and starts a runner container; removes it again if it cannot be started. */
  startRunner(spec: RunnerContainerSpec): Promise<RunnerContainer>;
  /** The runner's container when it exists and is this control plane's; undefined otherwise. */
  findRunner(runnerId: string): Promise<RunnerContainer | undefined>;
  /** The principal's runner containers, running or stopped. */
  listRunners(principal: string): Promise<RunnerContainer[]>;
  /** Every runner container DevHatchery created on this engine, of all principals (for reconciliation). */
  listAllRunners(): Promise<RunnerContainer[]>;
  /** The last `lines` lines the container wrote to stdout and stderr; "" when it is gone. */
  runnerLogs(runnerId: string, lines: number): Promise<string>;
  /** Stops a runner's container (SIGTERM, then SIGKILL after `timeoutS`); an already stopped one is not an error. */
  stopRunner(runnerId: string, timeoutS: number): Promise<void>;
  /** Starts a stopped runner's container again and returns it as it is now; NOT_FOUND when it is gone. */
  restartRunner(runnerId: string): Promise<RunnerContainer>;
  /** Removes the container (forcefully) but never a workspace volume; a container that is already gone is not an error. */
  removeRunner(runnerId: string): Promise<void>;
  /** Freezes every process of a running runner (the cgroup freezer): memory is kept, no CPU is used. */
  pauseRunner(runnerId: string): Promise<void>;
  /** Changes a running runner's CPU, memory and pids limits (a claimed pooled runner gets its claimer's). */
  updateLimits(runnerId: string, limits: RunnerLimits): Promise<void>;
  /** Thaws a paused runner; one that is not paused is not an error. */
  resumeRunner(runnerId: string): Promise<void>;
  /** The processes in a runner's container as the engine sees them (pid namespace of the host); [] when it is stopped. */
  runnerProcesses(runnerId: string): Promise<RunnerProcess[]>;
}

/** A process in a runner's container (host pids). */
export interface RunnerProcess {
  pid: number;
  ppid: number;
  /** The command line as `ps` shows it. */
  command: string;
}
