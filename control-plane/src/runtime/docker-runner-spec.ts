import type Docker from "dockerode";
import { AGENT_ENV } from "@devhatchery/proto/contract";
import { AGENT_ENTRYPOINT, AGENT_MOUNT_PATH } from "./agent-payload.js";
import { bindCheckLabels } from "./bind-check-label.js";
import { HARDENED_USER, type RunnerContainerSpec, type WorkspaceStorage } from "./runner-container-spec.js";
import { KIND, LABEL } from "./labels.js";

/** Capabilities dropped from Docker's default set: none is needed to install packages or build software. */
const DROPPED_CAPABILITIES = ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT", "SETPCAP"];
/** The agent's work directory and every runner's workspace. */
export const WORK_DIR = "/work";
const MIB = 1024 * 1024;
/** Writable scratch space of hardened runners, whose root is read-only: /var/tmp holds the agent's exec spill files. */
const HARDENED_SCRATCH = ["/tmp", "/var/tmp"];
/**
 * Where the agent spills exec output (its default spill directory's parent). Default-profile runners get an anonymous
 * volume there: on disk, not in memory, and never part of a `docker commit`; it goes with the container.
 */
export const AGENT_SPILL_PATH = "/var/tmp/devhatchery-agent";
/**
 * Memory kept free for the agent (Node, its buffers) within a runner's limit: tmpfs pages count against the limit and
 * no OOM kill frees them, so all tmpfs mounts together stay within the limit minus this.
 */
export const AGENT_MEMORY_HEADROOM_MB = 96;
const MIN_TMPFS_MB = 16;
const TMPFS_FLAGS = "rw,exec,nosuid,nodev";
const [HARDENED_UID, HARDENED_GID] = HARDENED_USER.split(":");

export function runnerContainerName(runnerId: string): string {
  return `devhatchery-${runnerId}`;
}

/** Settings the runtime passes to every agent it starts (config limits.exec_output_mb). */
export interface AgentSettings {
  execOutputMb: number;
  /** False only for images baked with an agent older than stdin delivery: their token has to go in Env. */
  tokenOnStdin: boolean;
}

/**
 * The create options of a runner container: labels, limits, mounts and the hardening of its profile. The agent token
 * is not among them: it goes to the agent's stdin at start (OpenStdin + StdinOnce), and the token variable is set
 * empty so that an image's own value (an older snapshot's) cannot stand in for it. Only images baked with an older
 * agent, which reads nothing but Env, get the token there.
 */
export function toRunnerCreateOptions(
  spec: RunnerContainerSpec,
  networkEnabled: boolean,
  agent: AgentSettings,
  instanceLabels: Record<string, string> = {},
): Docker.ContainerCreateOptions {
  const hardened = spec.hardened === true;
  return {
    name: runnerContainerName(spec.runnerId),
    Image: spec.imageId ?? spec.image,
    Hostname: spec.runnerId,
    Env: [
      `${AGENT_ENV.token}=${agent.tokenOnStdin ? "" : spec.token}`,
      `${AGENT_ENV.port}=${spec.agentPort}`,
      `${AGENT_ENV.execOutputMb}=${agent.execOutputMb}`,
      ...Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`),
    ],
    ...(agent.tokenOnStdin ? { OpenStdin: true, StdinOnce: true } : {}),
    ...(spec.agentVolume ? { Entrypoint: AGENT_ENTRYPOINT, Cmd: [], WorkingDir: WORK_DIR } : {}),
    ...(hardened ? { User: HARDENED_USER } : {}),
    Labels: { ...runnerLabels(spec, networkEnabled), ...instanceLabels },
    HostConfig: {
      Init: true,
      NetworkMode: spec.network,
      CapDrop: DROPPED_CAPABILITIES,
      SecurityOpt: ["no-new-privileges:true"],
      RestartPolicy: { Name: "no" },
      NanoCpus: Math.round(spec.limits.cpus * 1e9),
      Memory: spec.limits.memoryMb * MIB,
      // Equal to Memory: no swap, so the memory limit is the limit.
      MemorySwap: spec.limits.memoryMb * MIB,
      PidsLimit: spec.limits.pids,
      ReadonlyRootfs: hardened,
      Tmpfs: tmpfsMounts(spec.storage, hardened, spec.limits.memoryMb),
      Mounts: [
        ...(spec.agentVolume
          ? [{ Type: "volume" as const, Source: spec.agentVolume, Target: AGENT_MOUNT_PATH, ReadOnly: true }]
          : []),
        // Hardened runners spill to their /var/tmp tmpfs: an anonymous volume would be root's, not the hardened user's.
        ...(hardened ? [] : [spillMount()]),
        ...(spec.storage.kind === "volume" ? [workspaceMount(spec.storage.volume, hardened)] : []),
        ...(spec.binds ?? []).map((bind) => ({
          Type: "bind" as const,
          Source: bind.source,
          Target: bind.target,
          ReadOnly: bind.readOnly,
        })),
      ],
    },
  };
}

/** An anonymous volume (no Source) for the agent's spill files. */
function spillMount(): Docker.MountSettings {
  // The typings require a Source; the engine creates an anonymous volume without one.
  return { Type: "volume", Target: AGENT_SPILL_PATH, ReadOnly: false } as Docker.MountSettings;
}

/**
 * The workspace volume at /work. Hardened runners mount it without Docker's copy-up of the image's /work: the
 * copy would also copy the image directory's (root) ownership over the one prepared for the hardened user.
 */
export function workspaceMount(volume: string, hardened: boolean): Docker.MountSettings {
  const mount = {
    Type: "volume",
    Source: volume,
    Target: WORK_DIR,
    ReadOnly: false,
    ...(hardened ? { VolumeOptions: { NoCopy: true } } : {}),
  };
  // The typings make every VolumeOptions field required; the engine needs only NoCopy.
  return mount as Docker.MountSettings;
}

/**
 * The tmpfs mounts, sized so that together they fit in the memory limit minus the agent's headroom: a full tmpfs then
 * fails writes with ENOSPC instead of starving the agent. A hardened runner's /work tmpfs gets half of that room and
 * /tmp and /var/tmp a quarter each (half each beside a volume /work).
 */
function tmpfsMounts(storage: WorkspaceStorage, hardened: boolean, memoryMb: number): Record<string, string> {
  const room = tmpfsRoomMb(memoryMb);
  const isTmpfsWork = storage.kind === "tmpfs";
  const mounts: Record<string, string> = {};
  if (hardened) {
    const scratchMb = Math.max(MIN_TMPFS_MB, Math.floor(room / (isTmpfsWork ? 4 : 2)));
    for (const path of HARDENED_SCRATCH) mounts[path] = `${TMPFS_FLAGS},size=${scratchMb}m,mode=1777`;
  }
  // Docker copies the image's /work (content, mode) onto the tmpfs, as it does onto a fresh volume; the mode
  // here applies to images without one.
  if (isTmpfsWork) {
    const owner = hardened ? `mode=0755,uid=${HARDENED_UID},gid=${HARDENED_GID}` : "mode=1777";
    mounts[WORK_DIR] = `${TMPFS_FLAGS},size=${workTmpfsMb(storage.sizeMb, memoryMb, hardened)}m,${owner}`;
  }
  return mounts;
}

/** The size a /work tmpfs gets: what was asked, at most its share of the memory limit minus the agent's headroom. */
function workTmpfsMb(askedMb: number, memoryMb: number, hardened: boolean): number {
  const room = tmpfsRoomMb(memoryMb);
  return Math.min(askedMb, Math.max(MIN_TMPFS_MB, Math.floor(hardened ? room / 2 : room)));
}

/** What all tmpfs mounts of a runner may hold together. */
function tmpfsRoomMb(memoryMb: number): number {
  return Math.max(MIN_TMPFS_MB, memoryMb - AGENT_MEMORY_HEADROOM_MB);
}

function runnerLabels(spec: RunnerContainerSpec, networkEnabled: boolean): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.kind]: KIND.runner,
    [LABEL.owner]: spec.principal,
    [LABEL.runner]: spec.runnerId,
    [LABEL.created]: spec.createdAt,
    [LABEL.image]: spec.image,
    ...(spec.imageDigest ? { [LABEL.imageDigest]: spec.imageDigest } : {}),
    [LABEL.storage]: spec.storage.kind,
    [LABEL.hardened]: String(spec.hardened === true),
    [LABEL.network]: String(networkEnabled),
    ...(spec.alias ? { [LABEL.alias]: spec.alias } : {}),
    ...(spec.workspaceKey ? { [LABEL.workspace]: spec.workspaceKey } : {}),
    ...bindCheckLabels(spec.binds),
  };
}
