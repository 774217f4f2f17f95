import { ControlPlaneError } from "../errors.js";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import { runnerInfoFromContainer } from "./runner-info.js";
import type { RunnerTarget } from "./runner-refs.js";

/** Why a runner that exists cannot take calls now (starting, failed, stopped and how), and the way out. */
export function runnerUnavailable(ref: string, target: RunnerTarget): ControlPlaneError {
  if (target.kind === "spawn") {
    return target.spawn.status === "starting"
      ? new ControlPlaneError(
          "RUNNER_UNAVAILABLE",
          `Runner "${ref}" is still starting; wait for it with runner_attach (runner: "${ref}"), then call again.`,
          {
            hint: "runner_attach waits until it is ready; runner_list shows its status.",
          },
        )
      : new ControlPlaneError(
          "RUNNER_UNAVAILABLE",
          `Runner "${ref}" failed to start: ${target.spawn.error ?? "unknown error"}\nRemove it with runner_remove and spawn a new one with runner_spawn.`,
          {
            hint: "It will not start: runner_remove deletes it (its workspace is kept), then runner_spawn starts a new one.",
          },
        );
  }
  const shown = runnerInfoFromContainer(target.container, undefined, undefined);
  const how = shown.error ? ` (${shown.error})` : "";
  // Only a workspace volume outlives a stop; a tmpfs /work went with the container's last run.
  const work =
    target.container.storage.kind === "tmpfs"
      ? " Its /work was a tmpfs: what it held is gone, and it starts again with an empty /work."
      : "";
  return new ControlPlaneError(
    "RUNNER_UNAVAILABLE",
    `Runner "${ref}" is ${shown.status}${how}, not running; start it again with runner_attach (runner: "${ref}").${work}`,
  );
}

/** A container whose spawn is still in flight, seen as the starting spawn it is. */
export function startingSpawnOf(container: RunnerContainer): RunnerTarget {
  const { runnerId, principal, image, workspaceKey, alias, createdAt } = container;
  return {
    kind: "spawn",
    spawn: {
      runnerId,
      principal,
      image,
      workspaceKey,
      alias,
      status: "starting",
      error: undefined,
      createdAt,
      expiresAt: createdAt,
    },
  };
}
