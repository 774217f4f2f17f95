import { ControlPlaneError } from "../errors.js";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import type { SpawnRecord } from "../store/state-store.js";
import { RUNNER_ID_PATTERN, RUNNER_NAME_PATTERN } from "./runner.js";

/** What a runner ref names: a container (maybe still starting), or a spawn that has no container (starting or failed). */
export type RunnerTarget = { kind: "container"; container: RunnerContainer } | { kind: "spawn"; spawn: SpawnRecord };

/** "id" for a runner id; "name" for what may be an alias or a workspace key; anything else is INVALID_ARGUMENT. */
export function refKind(ref: string): "id" | "name" {
  if (RUNNER_ID_PATTERN.test(ref)) return "id";
  if (RUNNER_NAME_PATTERN.test(ref)) return "name";
  throw new ControlPlaneError(
    "INVALID_ARGUMENT",
    `"${ref}" is not a runner id, alias or workspace key (a runner id is "r-" and 12 hex digits; aliases and keys are letters, digits, ".", "_" and "-"); list your runners with runner_list.`,
  );
}

/**
 * Resolves a name among one principal's runners: an alias first, then a workspace key, then spawns without a
 * container (starting before failed, newest first). Aliases and keys are unique among live runners, so at most
 * one container matches each.
 */
export function findRunnerByName(
  name: string,
  containers: RunnerContainer[],
  spawns: SpawnRecord[],
): RunnerTarget | undefined {
  const byAlias = containers.find((container) => container.alias === name);
  if (byAlias) return { kind: "container", container: byAlias };
  const byKey = containers.find((container) => container.workspaceKey === name);
  if (byKey) return { kind: "container", container: byKey };
  const live = new Set(containers.map((container) => container.runnerId));
  const orphans = spawns
    .filter((spawn) => !live.has(spawn.runnerId) && (spawn.alias === name || spawn.workspaceKey === name))
    .sort((a, b) =>
      a.status === b.status ? b.createdAt.localeCompare(a.createdAt) : a.status === "starting" ? -1 : 1,
    );
  const spawn = orphans[0];
  return spawn ? { kind: "spawn", spawn } : undefined;
}

/** The one "not found" of every runner lookup: another principal's runner looks exactly like a missing one. */
export function runnerNotFound(ref: string): ControlPlaneError {
  return new ControlPlaneError(
    "NOT_FOUND",
    `Runner "${ref}" not found for this principal; spawn one with runner_spawn.`,
    {
      hint: "runner_list shows your runners (id, alias and workspace_key each work as `runner`); runner_attach brings back a workspace from volume_list, runner_spawn starts a new runner.",
    },
  );
}
