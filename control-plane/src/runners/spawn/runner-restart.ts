import type { AgentClient } from "../../agent-client/agent-client.js";
import { NO_AUDIT, type AuditLog } from "../../audit.js";
import { asControlPlaneError, ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import type { AgentConnections } from "../agent-connections.js";
import { waitUntilReady } from "./agent-readiness.js";
import { verifyBinds } from "./bind-verification.js";

/**
 * Starts a stopped runner's container again and waits for its agent; the new connection replaces any old one.
 * A runner that does not get ready stays (its state is the user's): RUNNER_START_FAILED says what to do.
 */
export async function restartStoppedRunner(
  runtime: Pick<ContainerRuntime, "containers">,
  connections: AgentConnections,
  principal: string,
  runnerId: string,
  readyTimeoutMs: number,
  audit: AuditLog = NO_AUDIT,
  log?: Logger,
  /** Starts the container (the caller's quota check and lock around it); the engine's start by default. */
  start: (runnerId: string) => Promise<RunnerContainer> = (id) => runtime.containers.restartRunner(id),
): Promise<RunnerContainer> {
  connections.drop(runnerId);
  const container = await start(runnerId);
  let client: AgentClient;
  try {
    if (!container.token) throw new ControlPlaneError("RUNNER_START_FAILED", "the container has no agent token");
    client = await waitUntilReady(runtime, container, container.token, readyTimeoutMs, log);
    if (container.env) client.exec.baseEnv = container.env;
  } catch (error) {
    throw new ControlPlaneError(
      "RUNNER_START_FAILED",
      `Runner "${runnerId}" was started again but its agent did not become ready: ${asControlPlaneError(error).message}; check its image, or remove it with runner_remove (its workspace is kept).`,
      {
        cause: error,
        hint: "The runner is kept, stopped: runner_attach tries again; runner_remove deletes it (its workspace is kept) so runner_attach with the workspace_key can give the workspace a new runner.",
      },
    );
  }
  // The engine resolved the binds' sources again at this start: the folders must still be the checked ones.
  const changed = await verifyBinds(
    client,
    container.binds,
    "started",
    { log: audit, principal, runner: runnerId },
    container,
    log,
  );
  if (changed) {
    client.close();
    await runtime.containers.stopRunner(runnerId, 0).catch(() => undefined);
    throw changed;
  }
  connections.set(principal, runnerId, client, container.workspaceKey);
  return { ...container, state: "running" };
}
