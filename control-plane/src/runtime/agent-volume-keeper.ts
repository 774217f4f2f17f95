import type { Readable } from "node:stream";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { AgentVolumes } from "./agent-volumes.js";
import { AGENT_VOLUME_MARKER, type AgentPayload, type AgentSnapshot } from "./agent-payload.js";
import type { NodeArch } from "./node-runtime-cache.js";

/** The engine operations the keeper needs; DockerRuntime implements them with never-started helper containers. */
export interface AgentVolumeStore {
  volumeExists(volume: string): Promise<boolean>;
  createVolume(volume: string, labels: Record<string, string>): Promise<void>;
  /** Removes the volume (and helper containers left behind for it); fails while a runner uses it. */
  removeVolume(volume: string): Promise<void>;
  volumeHasFile(volume: string, path: string, helperImage: string): Promise<boolean>;
  /** Extracts each archive, in order, into the volume's root. */
  writeToVolume(volume: string, helperImage: string, archives: Array<() => Readable>): Promise<void>;
  /** Takes the volume's fill lock unless another holder has it; a lock older than `staleMs` is broken. */
  tryLock(volume: string, helperImage: string, staleMs: number): Promise<boolean>;
  unlock(volume: string): Promise<void>;
}

export interface AgentVolumeTiming {
  /** How long to wait for another control plane that is filling the same volume. */
  lockWaitMs: number;
  /** A lock older than this belongs to a filler that died; it is broken. */
  lockStaleMs: number;
}

const DEFAULT_TIMING: AgentVolumeTiming = { lockWaitMs: 5 * 60_000, lockStaleMs: 2 * 60_000 };
const LOCK_POLL_MS = 250;

/** Docker's architecture names → Node's, for the architectures Node is published for in the npm registry. */
const NODE_ARCH: Record<string, NodeArch> = { amd64: "x64", x86_64: "x64", arm64: "arm64", aarch64: "arm64" };

/**
 * Keeps one read-only agent volume per agent version, digest and architecture: created and filled once
 * (a lock guards concurrent fillers, also across control planes), complete only once its marker is written.
 */
export class AgentVolumeKeeper implements AgentVolumes {
  private readonly ready = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: AgentVolumeStore,
    private readonly payload: AgentPayload,
    private readonly log: Logger,
    private readonly timing: AgentVolumeTiming = DEFAULT_TIMING,
  ) {}

  /** The name of a complete agent volume for `architecture` (Docker's name, e.g. amd64); `helperImage` must be local. */
  async ensure(
    architecture: string,
    helperImage: string,
    onProgress: (status: string) => void = () => {},
  ): Promise<string> {
    const arch = NODE_ARCH[architecture];
    if (!arch) {
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Image "${helperImage}" is built for architecture "${architecture}"; the injected agent exists for amd64 and arm64 only. ` +
          "Use an amd64 or arm64 image, or build the image with the agent baked in (images/README.md).",
      );
    }
    const snapshot = await this.payload.snapshot();
    const volume = this.payload.volumeName(snapshot, arch);
    // One cheap inspect per spawn: a volume removed behind our back is rebuilt instead of mounted empty.
    if (this.ready.has(volume) && (await this.store.volumeExists(volume))) return volume;
    this.ready.delete(volume);
    let pending = this.pending.get(volume);
    if (!pending) {
      pending = this.prepare(volume, snapshot, arch, helperImage, onProgress).finally(() =>
        this.pending.delete(volume),
      );
      this.pending.set(volume, pending);
    }
    await pending;
    return volume;
  }

  private async prepare(
    volume: string,
    snapshot: AgentSnapshot,
    arch: NodeArch,
    helperImage: string,
    onProgress: (status: string) => void,
  ): Promise<void> {
    if (await this.isComplete(volume, helperImage)) {
      this.ready.add(volume);
      return;
    }
    // Fetch the Node runtime before taking the lock: the download is the slow part and needs no lock.
    const content = await this.payload.prepare(snapshot, arch, onProgress);
    await this.lock(volume, helperImage, onProgress);
    try {
      if (await this.isComplete(volume, helperImage)) {
        this.ready.add(volume);
        return;
      }
      if (await this.store.volumeExists(volume)) {
        this.log.warn({ volume }, "agent volume is incomplete (no completion marker); recreating it");
        onProgress(`recreating the incomplete agent volume "${volume}"`);
        await this.store.removeVolume(volume);
      }
      await this.store.createVolume(volume, this.payload.volumeLabels(snapshot, arch));
      onProgress(`filling the agent volume "${volume}"`);
      await this.store.writeToVolume(volume, helperImage, [content, () => this.payload.marker(snapshot, arch)]);
      this.log.info({ volume, version: snapshot.version, digest: snapshot.digest, arch }, "agent volume filled");
      this.ready.add(volume);
    } finally {
      await this.store
        .unlock(volume)
        .catch((error: unknown) => this.log.warn({ err: error, volume }, "could not release the agent volume lock"));
    }
  }

  private async isComplete(volume: string, helperImage: string): Promise<boolean> {
    return (
      (await this.store.volumeExists(volume)) &&
      (await this.store.volumeHasFile(volume, AGENT_VOLUME_MARKER, helperImage))
    );
  }

  private async lock(volume: string, helperImage: string, onProgress: (status: string) => void): Promise<void> {
    const deadline = Date.now() + this.timing.lockWaitMs;
    let announced = false;
    while (!(await this.store.tryLock(volume, helperImage, this.timing.lockStaleMs))) {
      if (!announced) {
        announced = true;
        onProgress(`waiting for another control plane to fill the agent volume "${volume}"`);
      }
      if (Date.now() > deadline) {
        throw new ControlPlaneError(
          "TIMEOUT",
          `Agent volume "${volume}" has been locked by another filler for over ${this.timing.lockWaitMs} ms; ` +
            `if no control plane is filling it, remove the container "${volume}-lock" and spawn again.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
}
