import { ControlPlaneError } from "../../errors.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import type { SpawnRecord } from "../../store/state-store.js";
import { PolicyDeniedError, type ValidSpawn } from "./spawn-request.js";

interface Holder {
  runnerId: string;
  status: string;
}

/**
 * Refuses a spawn whose alias or workspace is taken, or that would exceed the principal's runner count. `containers`
 * are the principal's runners on the engine; `starting` its spawns still being created (they may have no container yet).
 */
export function checkSpawnConflicts(
  spawn: ValidSpawn,
  containers: RunnerContainer[],
  starting: SpawnRecord[],
  limit: { max: number; policy: string | undefined },
): void {
  const maxRunners = limit.max;
  const live = new Set(containers.map((container) => container.runnerId));
  const inFlight = new Set(starting.filter((record) => record.status === "starting").map((record) => record.runnerId));
  const pending = starting.filter((record) => record.status === "starting" && !live.has(record.runnerId));
  const holders: (Holder & { alias: string | undefined; workspaceKey: string | undefined })[] = [
    ...containers.map((container) => ({
      runnerId: container.runnerId,
      status: inFlight.has(container.runnerId) ? "starting" : container.state,
      alias: container.alias,
      workspaceKey: container.workspaceKey,
    })),
    ...pending.map((record) => ({
      runnerId: record.runnerId,
      status: "starting",
      alias: record.alias,
      workspaceKey: record.workspaceKey,
    })),
  ];
  const onWorkspace =
    spawn.workspaceKey === undefined ? undefined : holders.find((holder) => holder.workspaceKey === spawn.workspaceKey);
  if (onWorkspace && spawn.workspaceKey !== undefined) {
    throw new ControlPlaneError(
      "ALREADY_EXISTS",
      `Workspace "${spawn.workspaceKey}" already has runner "${onWorkspace.runnerId}" (${describe(onWorkspace)}); ` +
        `use runner_attach with runner "${spawn.workspaceKey}" to work in it, or remove that runner with runner_remove first.`,
    );
  }
  const withAlias = spawn.alias === undefined ? undefined : holders.find((holder) => holder.alias === spawn.alias);
  if (withAlias && spawn.alias !== undefined) {
    throw new ControlPlaneError(
      "ALREADY_EXISTS",
      `Alias "${spawn.alias}" is already used by runner "${withAlias.runnerId}" (${describe(withAlias)}); choose another alias, or use runner_attach with runner "${spawn.alias}".`,
    );
  }
  if (holders.length >= maxRunners) {
    const whose = limit.policy
      ? `the most policy "${limit.policy}" (rule max_runners) allows, ${maxRunners}`
      : `this server's maximum of ${maxRunners}`;
    throw new PolicyDeniedError(
      limit.policy ? "max_runners" : "max_runners_per_principal",
      maxRunners,
      `You already have ${holders.length} runners, ${whose} per principal; remove runners you no longer need with runner_remove, then spawn again.`,
      limit.policy,
    );
  }
}

function describe(holder: Holder): string {
  if (holder.status === "running") return "ready";
  if (holder.status === "starting" || holder.status === "created" || holder.status === "restarting") return "starting";
  return "stopped";
}
