import type Docker from "dockerode";
import { AGENT_ENV } from "@devhatchery/proto/contract";
import { AGENT_ENTRYPOINT, AGENT_MOUNT_PATH } from "./agent-payload.js";
import { bindCheckLabels } from "./bind-check-label.js";
import { HARDENED_USER, type RunnerContainerSpec, type WorkspaceStorage } from "./container-runtime.js";
import { KIND, LABEL } from "./labels.js";

/** Capabilities dropped from Docker's default set: none is needed to install packages or build software. */
const DROPPED_CAPABILITIES = ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT", "SETPCAP"];
/** The agent's work directory and every runner's workspace. */
export const WORK_DIR = "/work";
const MIB = 1024 * 1024;
/** Writable scratch space of hardened runners, whose root is read-only: /var/tmp holds the agent's exec spill files. */
const HARDENED_SCRATCH = ["/tmp", "/var/tmp"];
const TMPFS_FLAGS = "rw,exec,nosuid,nodev";
const [HARDENED_UID, HARDENED_GID] = HARDENED_USER.split(":");

export function runnerContainerName(runnerId: string): string {
  return `devhatchery-${runnerId}`;
}

/** The create options of a runner container: labels, limits, mounts and the hardening of its profile. */
export function toRunnerCreateOptions(spec: RunnerContainerSpec, networkEnabled: boolean, instanceLabels: Record<string, string> = {}): Docker.ContainerCreateOptions {
  const hardened = spec.hardened === true;
  return {
    name: runnerContainerName(spec.runnerId),
    Image: spec.imageId ?? spec.image,
    Hostname: spec.runnerId,
    Env: [`${AGENT_ENV.token}=${spec.token}`, `${AGENT_ENV.port}=${spec.agentPort}`, ...Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`)],
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
      Tmpfs: tmpfsMounts(spec.storage, hardened),
      Mounts: [
        ...(spec.agentVolume ? [{ Type: "volume" as const, Source: spec.agentVolume, Target: AGENT_MOUNT_PATH, ReadOnly: true }] : []),
        ...(spec.storage.kind === "volume" ? [workspaceMount(spec.storage.volume, hardened)] : []),
        ...(spec.binds ?? []).map((bind) => ({ Type: "bind" as const, Source: bind.source, Target: bind.target, ReadOnly: bind.readOnly })),
      ],
    },
  };
}

/**
 * The workspace volume at /work. Hardened runners mount it without Docker's copy-up of the image's /work: the
 * copy would also copy the image directory's (root) ownership over the one prepared for the hardened user.
 */
export function workspaceMount(volume: string, hardened: boolean): Docker.MountSettings {
  const mount = { Type: "volume", Source: volume, Target: WORK_DIR, ReadOnly: false, ...(hardened ? { VolumeOptions: { NoCopy: true } } : {}) };
  // The typings make every VolumeOptions field required; the engine needs only NoCopy.
  return mount as Docker.MountSettings;
}

function tmpfsMounts(storage: WorkspaceStorage, hardened: boolean): Record<string, string> {
  const mounts: Record<string, string> = {};
  if (hardened) for (const path of HARDENED_SCRATCH) mounts[path] = `${TMPFS_FLAGS},mode=1777`;
  // Docker copies the image's /work (content, mode) onto the tmpfs, as it does onto a fresh volume; the mode
  // here applies to images without one.
  if (storage.kind === "tmpfs") {
    const owner = hardened ? `mode=0755,uid=${HARDENED_UID},gid=${HARDENED_GID}` : "mode=1777";
    mounts[WORK_DIR] = `${TMPFS_FLAGS},size=${storage.sizeMb}m,${owner}`;
  }
  return mounts;
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
