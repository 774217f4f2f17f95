import type { ContainerState, RunnerContainer } from "../runtime/runner-containers.js";
import type { SpawnRecord } from "../store/state-store.js";
import type { RunnerInfo, RunnerStatus } from "./runner.js";

const STATUS_BY_STATE: Record<ContainerState, RunnerStatus> = {
  created: "starting",
  restarting: "starting",
  running: "ready",
  paused: "paused",
  exited: "stopped",
  dead: "stopped",
  removing: "stopped",
};

/** How a stopped runner's agent ended, for runner_get/list and RUNNER_UNAVAILABLE messages. */
export function agentExitDescription(container: Pick<RunnerContainer, "exitCode" | "oomKilled">): string {
  return `the agent exited (exit code ${container.exitCode ?? "unknown"}${container.oomKilled ? ", OOM-killed" : ""})`;
}

/** A runner as the engine shows it; a spawn record of this control plane (starting, failed) overrides the status. */
export function runnerInfoFromContainer(
  container: RunnerContainer,
  spawn: SpawnRecord | undefined,
  lastActivityAt: string | undefined,
): RunnerInfo {
  const status = spawn?.status ?? STATUS_BY_STATE[container.state];
  // A clean exit (runner_stop: the agent drains and exits 0) is not an error; anything else says how it ended.
  const abnormal =
    status === "stopped" &&
    (container.oomKilled ||
      (container.exitCode !== undefined && container.exitCode !== 0) ||
      container.state === "dead");
  return {
    runnerId: container.runnerId,
    image: container.image,
    status,
    createdAt: container.createdAt,
    alias: container.alias,
    workspaceKey: container.workspaceKey,
    storage: container.storage.kind,
    volume: container.storage.kind === "volume" ? container.storage.volume : undefined,
    lastActivityAt,
    limits: container.limits,
    network: container.networkEnabled,
    profile: container.hardened ? "hardened" : "default",
    error: spawn?.error ?? (abnormal ? agentExitDescription(container) : undefined),
    exitCode: status === "stopped" ? container.exitCode : undefined,
    pooled: container.pool !== undefined,
  };
}

/** A spawn with no container (yet, or any more): starting in this control plane, or failed with its error. */
export function runnerInfoFromSpawn(spawn: SpawnRecord, lastActivityAt: string | undefined): RunnerInfo {
  return {
    runnerId: spawn.runnerId,
    image: spawn.image,
    status: spawn.status,
    createdAt: spawn.createdAt,
    alias: spawn.alias,
    workspaceKey: spawn.workspaceKey,
    lastActivityAt,
    error: spawn.error,
  };
}
