import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import { AgentClient } from "../../agent-client/agent-client.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";

const HEALTH_POLL_MS = 50;
const STATE_CHECK_MS = 250;

/**
 * Polls the agent's gRPC health until it is SERVING; fails fast when the container stops meanwhile. Returns a
 * connected client (logging its failed calls' transport details to `log`); closes it on failure.
 */
export async function waitUntilReady(
  runtime: Pick<ContainerRuntime, "containers">,
  container: RunnerContainer,
  token: string,
  timeoutMs: number,
  log?: Logger,
): Promise<AgentClient> {
  if (container.state !== "running") throw agentExitedAtStart(container);
  if (!container.address)
    throw new ControlPlaneError("RUNNER_START_FAILED", "the container has no address on the runner network");
  const client = new AgentClient(container.runnerId, `${container.address}:${AGENT_DEFAULT_PORT}`, token, log);
  const deadline = Date.now() + timeoutMs;
  let lastStateCheck = Date.now();
  try {
    while (Date.now() < deadline) {
      if (await client.health.isServing(Math.min(STATE_CHECK_MS, Math.max(1, deadline - Date.now())))) return client;
      if (Date.now() - lastStateCheck > STATE_CHECK_MS) {
        lastStateCheck = Date.now();
        const current = await runtime.containers.findRunner(container.runnerId);
        if (current?.state !== "running") throw agentExitedAtStart(current);
      }
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
    }
  } catch (error) {
    client.close();
    throw error;
  }
  client.close();
  throw new ControlPlaneError("TIMEOUT", `the agent did not answer its health check within ${timeoutMs} ms`);
}

function agentExitedAtStart(container: RunnerContainer | undefined): ControlPlaneError {
  return new ControlPlaneError(
    "RUNNER_START_FAILED",
    `the agent exited (container ${container?.state ?? "gone"}, exit code ${container?.exitCode ?? "unknown"})`,
  );
}
