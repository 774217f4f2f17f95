import type Docker from "dockerode";
import type { RunnerLimits, WorkspaceStorage } from "./runner-container-spec.js";
import type { ContainerState, RunnerContainer } from "./runner-containers.js";
import { bindChecksFrom } from "./bind-check-label.js";
import { WORK_DIR } from "./docker-runner-spec.js";
import { LABEL } from "./labels.js";

const MIB = 1024 * 1024;
/** What the engine reports for a time that never happened. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Reads a runner back from `docker inspect`: identity from labels, limits and storage from the host config. */
export function toRunnerContainer(info: Docker.ContainerInspectInfo): RunnerContainer {
  const labels = info.Config.Labels ?? {};
  const networks = Object.values(info.NetworkSettings.Networks ?? {});
  const checks = bindChecksFrom(labels);
  return {
    containerId: info.Id,
    runnerId: labels[LABEL.runner] ?? "",
    principal: labels[LABEL.owner] ?? "",
    image: labels[LABEL.image] ?? info.Config.Image,
    state: info.State.Status as ContainerState,
    createdAt: labels[LABEL.created] ?? info.Created,
    address: networks.find((network) => network.IPAddress)?.IPAddress || undefined,
    // Filled in by the runtime from its token vault (or Env, for runners of older versions).
    token: undefined,
    exitCode: info.State.Running ? undefined : info.State.ExitCode,
    binds: (info.Mounts ?? [])
      .filter((mount) => mount.Type === "bind")
      .map((mount) => ({
        source: mount.Source,
        target: mount.Destination,
        readOnly: !mount.RW,
        check: checks.get(mount.Destination),
      })),
    alias: labels[LABEL.alias] || undefined,
    workspaceKey: labels[LABEL.workspace] || undefined,
    storage: toStorage(info),
    limits: toLimits(info.HostConfig),
    networkEnabled: labels[LABEL.network] !== "false",
    hardened: labels[LABEL.hardened] === "true",
    oomKilled: info.State.OOMKilled,
    startedAt: toTime(info.State.StartedAt),
    finishedAt: info.State.Running ? undefined : toTime(info.State.FinishedAt),
    pid: info.State.Running && info.State.Pid > 0 ? info.State.Pid : undefined,
  };
}

/** A workspace volume at /work, else the tmpfs there (size 0 for runners created before storage was chosen). */
function toStorage(info: Docker.ContainerInspectInfo): WorkspaceStorage {
  const volume = (info.Mounts ?? []).find((mount) => mount.Type === "volume" && mount.Destination === WORK_DIR);
  if (volume?.Name) return { kind: "volume", volume: volume.Name };
  const options = info.HostConfig.Tmpfs?.[WORK_DIR] ?? "";
  const size = /(?:^|,)size=(\d+)m(?:,|$)/.exec(options);
  return { kind: "tmpfs", sizeMb: size ? Number(size[1]) : 0 };
}

function toLimits(host: Docker.HostConfig): RunnerLimits {
  return {
    cpus: (host.NanoCpus ?? 0) / 1e9,
    memoryMb: Math.round((host.Memory ?? 0) / MIB),
    pids: host.PidsLimit ?? 0,
  };
}

function toTime(value: string | undefined): string | undefined {
  return value && !value.startsWith(ZERO_TIME.slice(0, 10)) ? value : undefined;
}
