import { asControlPlaneError, ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ContainerRuntime, RunnerContainer } from "../runtime/container-runtime.js";
import type { AgentConnections } from "./agent-connections.js";
import { waitUntilReady } from "./agent-readiness.js";

/**
 * Starts a stopped runner's container again and waits for its agent; the new connection replaces any old one.
 * A runner that does not get ready stays (its state is the user's): RUNNER_START_FAILED says what to do.
 */
export async function restartStoppedRunner(
  runtime: ContainerRuntime,
  connections: AgentConnections,
  principal: string,
  runnerId: string,
  readyTimeoutMs: number,
  log?: Logger,
): Promise<RunnerContainer> {
  connections.drop(runnerId);
  const container = await runtime.restartRunner(runnerId);
  try {
    if (!container.token) throw new ControlPlaneError("RUNNER_START_FAILED", "the container has no agent token");
    connections.set(principal, runnerId, await waitUntilReady(runtime, container, container.token, readyTimeoutMs, log), container.workspaceKey);
    return { ...container, state: "running" };
  } catch (error) {
    throw new ControlPlaneError(
      "RUNNER_START_FAILED",
      `Runner "${runnerId}" was started again but its agent did not become ready: ${asControlPlaneError(error).message}; check its image, or remove it with runner_remove (its workspace is kept).`,
      { cause: error },
    );
  }
}
