/** What the domain hands the runtime to create a runner container, with its mounts and limits. */
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
