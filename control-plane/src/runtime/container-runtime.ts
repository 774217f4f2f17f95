/** What the control plane asks of a container engine. The Docker implementation is docker-runtime.ts. */

export interface RunnerContainerSpec {
  runnerId: string;
  principal: string;
  image: string;
  /** The runner's agent token: written to the agent's stdin at every start, never into the container's config. */
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
  /** What is mounted at /work: a workspace volume (kept when the runner is removed) or a tmpfs (gone with it). */
  storage: WorkspaceStorage;
  /** The caller's alias for the runner (label io.devhatchery.alias), unique per principal; checked by the domain. */
  alias?: string | undefined;
  /** The workspace key (label io.devhatchery.workspace) when the runner was spawned for one. */
  workspaceKey?: string | undefined;
  limits: RunnerLimits;
  /** The image id to create the container from (the image the checks saw), when the domain pinned one; else `image`. */
  imageId?: string | undefined;
  /** The registry digest the operator's images.allowed demanded and the image had (label io.devhatchery.image.digest). */
  imageDigest?: string | undefined;
  /** Extra environment variables for the runner's processes (validated by the domain; never contains the agent's names). */
  env?: Record<string, string>;
  /**
   * The `hardened` profile: runs as HARDENED_USER with a read-only root filesystem and a tmpfs /tmp; /work stays
   * writable for that user (the runtime prepares a fresh workspace volume's ownership).
   */
  hardened?: boolean;
}

/** /work of a runner. */
export type WorkspaceStorage = { kind: "volume"; volume: string } | { kind: "tmpfs"; sizeMb: number };

/** Resource limits of one runner, already checked against the operator's maxima. */
export interface RunnerLimits {
  /** CPUs (fractions allowed), e.g. 1.5. */
  cpus: number;
  memoryMb: number;
  pids: number;
}

/** The uid:gid of the hardened profile's user. */
export const HARDENED_USER = "1000:1000";

/** A principal's workspace volume (labels io.devhatchery.owner and io.devhatchery.workspace). */
export interface WorkspaceVolume {
  name: string;
  principal: string;
  workspaceKey: string;
  createdAt: string;
  /** The image of the runner the volume was created for (label io.devhatchery.image), when the creator said. */
  image?: string | undefined;
  /** Bytes used, when asked for and the engine could say (docker system df). */
  sizeBytes: number | undefined;
  /** Runner ids whose containers (running or stopped) mount it. */
  usedBy: string[];
}

/** Every snapshot image's repository starts with this and a "/": image references there are snapshots, never pulled. */
export const SNAPSHOT_REPOSITORY = "devhatchery-snapshot";

/** What to commit a runner into: the snapshot's identity, fixed by the domain. */
export interface SnapshotSpec {
  /** `s-` and 12 hex digits; the image tag. */
  snapshotId: string;
  principal: string;
  /** The caller's name for it (label io.devhatchery.snapshot.name), unique per principal; checked by the domain. */
  name?: string | undefined;
  createdAt: string;
}

/**
 * A principal's snapshot: an image committed from one of its runners (label io.devhatchery.kind=snapshot). It holds
 * the runner's filesystem without its mounts: /work (volume or tmpfs) and host binds are not in it.
 */
export interface RunnerSnapshot {
  snapshotId: string;
  principal: string;
  name: string | undefined;
  /** The local image reference to run: devhatchery-snapshot/<owner digest>:<snapshot id>. */
  image: string;
  sourceRunner: string;
  /** The image the source runner ran. */
  sourceImage: string;
  createdAt: string;
  /** The image's size on disk, including the base layers it shares with its source image. */
  sizeBytes: number;
}

/** A change to a runner container, as the engine reports it. */
export interface RunnerEvent {
  runnerId: string;
  principal: string;
  /** start: (re)started; die: its main process (the agent) ended; oom: the kernel killed a process for memory; destroy: removed. */
  action: "start" | "die" | "oom" | "destroy";
  /** With die: the exit code. */
  exitCode?: number | undefined;
}

/** A host folder bound into a runner. */
export interface HostBind {
  /** The host path (symlinks already resolved). */
  source: string;
  /** Where it appears in the runner. */
  target: string;
  readOnly: boolean;
  /** The allowed-root folder this bind was checked as (kept in a label); unset on runners created before it existed. */
  check?: BindCheck | undefined;
}

/**
 * Which allowed-root folder a bind was checked as, and that folder's `dev:ino` at the check. The engine resolves a
 * bind's source again at every container start, so a started runner must show the same `dev:ino` at the target.
 */
export interface BindCheck {
  alias: string;
  /** Relative to the alias root; "" for the whole root. */
  subpath: string;
  /** st_dev and st_ino of the checked folder, "dev:ino" in decimal. */
  identity: string;
}

/** What the control plane needs to know about a local image. */
export interface ImageInfo {
  /** Docker's name for the image's architecture, e.g. amd64 or arm64. */
  architecture: string;
  /** The label io.devhatchery.agent.version: set when the agent is baked into the image. */
  agentVersion: string | undefined;
}

/** A local image as the engine resolved a reference to it (by name or, for ids, by search). */
export interface LocalImage extends ImageInfo {
  /** The image id, "sha256:" and 64 hex digits. */
  id: string;
  /** Its names (RepoTags) as the engine lists them, e.g. "ubuntu:24.04". */
  tags: string[];
  /** Its registry digests (RepoDigests), e.g. "ubuntu@sha256:…"; empty for images never pulled or pushed. */
  digests: string[];
  labels: Record<string, string>;
  /** Labelled as another control plane's object (io.devhatchery.instance): a snapshot of another instance is never this one's. */
  otherInstance: boolean;
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
}

/**
 * Where a runtime keeps each runner's agent token between starts (the state store's runnerTokens, or memory): the
 * engine holds none, so `docker inspect` and snapshots cannot show it.
 */
export interface RunnerTokenVault {
  get(runnerId: string): string | undefined;
  set(runnerId: string, token: string): void;
  delete(runnerId: string): void;
}

/** A vault that forgets everything when the process ends (tests and tools without a state store). */
export function createMemoryTokenVault(): RunnerTokenVault {
  const tokens = new Map<string, string>();
  return { get: (runnerId) => tokens.get(runnerId), set: (runnerId, token) => void tokens.set(runnerId, token), delete: (runnerId) => void tokens.delete(runnerId) };
}

export interface PullProgress {
  status: string;
  /** 0..1 when the engine reports byte counts. */
  fraction: number | undefined;
}

export interface ContainerRuntime {
  /** Fails with DOCKER_UNAVAILABLE when the engine cannot be reached. */
  ping(): Promise<void>;
  /**
   * Creates the private runner network if it does not exist. With `internal`, the network has no route out
   * (runners spawned with `network: false`); the host still reaches the agents on it.
   */
  ensureNetwork(name: string, options?: { internal?: boolean }): Promise<void>;
  /** The local image `reference` resolves to on the engine (never pulls); undefined when there is none. */
  inspectImage(reference: string): Promise<LocalImage | undefined>;
  /** Pulls `reference` from its registry; IMAGE_NOT_FOUND or IMAGE_PULL_FAILED when that fails. */
  pullImage(reference: string, onProgress?: (progress: PullProgress) => void): Promise<void>;
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
  /** Removes the container (forcefully) but never a workspace volume; a container that is already gone is not an error. */
  removeRunner(runnerId: string): Promise<void>;
  /** Stops a runner's container (SIGTERM, then SIGKILL after `timeoutS`); an already stopped one is not an error. */
  stopRunner(runnerId: string, timeoutS: number): Promise<void>;
  /** Starts a stopped runner's container again and returns it as it is now. */
  restartRunner(runnerId: string): Promise<RunnerContainer>;
  /** Every runner container DevHatchery created on this engine, of all principals (for reconciliation). */
  listAllRunners(): Promise<RunnerContainer[]>;
  /**
   * Runner containers and workspace volumes made by a version before instance labels that this control plane does not
   * serve (zero when it adopts them): an upgrade's objects an operator may be looking for.
   */
  countUnservedLegacyObjects(): Promise<{ runners: number; volumes: number }>;
  /**
   * Creates the principal's volume for `workspaceKey` when missing (labelled, with `image` when given), returns it;
   * never changes an existing one.
   */
  ensureWorkspaceVolume(principal: string, workspaceKey: string, createdAt: string, image?: string): Promise<WorkspaceVolume>;
  findWorkspaceVolume(principal: string, workspaceKey: string): Promise<WorkspaceVolume | undefined>;
  /** The principal's workspace volumes; `sizes` asks the engine for disk usage (slower). */
  listWorkspaceVolumes(principal: string, options?: { sizes?: boolean }): Promise<WorkspaceVolume[]>;
  /** Removes a workspace volume; VOLUME_IN_USE when a container (even a stopped one) still mounts it. */
  removeWorkspaceVolume(name: string): Promise<void>;
  /**
   * Commits a runner's container (running or stopped; a running one is paused meanwhile) into a snapshot image
   * labelled with its owner, id, name and source; the agent's token is not kept in it.
   */
  commitRunner(runnerId: string, spec: SnapshotSpec): Promise<RunnerSnapshot>;
  /** The principal's snapshots, newest first. */
  listSnapshots(principal: string): Promise<RunnerSnapshot[]>;
  findSnapshot(principal: string, snapshotId: string): Promise<RunnerSnapshot | undefined>;
  /** Removes a snapshot image; NOT_FOUND when missing, FAILED_PRECONDITION naming the runners while a container (even a stopped one) uses it. */
  removeSnapshot(principal: string, snapshotId: string): Promise<void>;
  /** Follows engine events for runner containers until the returned function is called; reconnects when the stream drops. */
  watchRunnerEvents(listener: (event: RunnerEvent) => void): () => void;
}
