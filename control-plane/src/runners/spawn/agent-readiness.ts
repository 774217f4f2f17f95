import { connect } from "node:net";
import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import { AgentClient } from "../../agent-client/agent-client.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";

const HEALTH_POLL_MS = 50;
const STATE_CHECK_MS = 250;
/**
 * How often the agent's port is tried while it starts. A refused connection on the runner network costs well under a
 * millisecond, so the agent is found listening within this of it; gRPC's own reconnects back off much further.
 */
const PORT_POLL_MS = 5;

/**
 * Waits until the agent listens (trying its port every PORT_POLL_MS), then until its gRPC health is SERVING; fails
 * fast when the container stops meanwhile. Returns a
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
  const deadline = Date.now() + timeoutMs;
  let lastStateCheck = Date.now();
  const checkState = async (): Promise<void> => {
    if (Date.now() - lastStateCheck <= STATE_CHECK_MS) return;
    lastStateCheck = Date.now();
    const current = await runtime.containers.findRunner(container.runnerId);
    if (current?.state !== "running") throw agentExitedAtStart(current);
  };
  // First the port (cheap, every few ms), so the gRPC channel connects once, when the agent listens.
  while (!(await portOpen(container.address, AGENT_DEFAULT_PORT, Math.max(1, deadline - Date.now())))) {
    if (Date.now() >= deadline)
      throw new ControlPlaneError(
        "TIMEOUT",
        `the agent did not answer its health check within ${timeoutMs} ms (nothing listens on its port)`,
      );
    await checkState();
    await new Promise((resolve) => setTimeout(resolve, PORT_POLL_MS));
  }
  const client = new AgentClient(container.runnerId, `${container.address}:${AGENT_DEFAULT_PORT}`, token, log);
  try {
    while (Date.now() < deadline) {
      if (await client.health.isServing(Math.min(STATE_CHECK_MS, Math.max(1, deadline - Date.now())))) return client;
      await checkState();
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

/** Whether something accepts TCP connections on `host:port` (within `timeoutMs`); the connection is closed at once. */
function portOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => done(false), Math.min(timeoutMs, STATE_CHECK_MS));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
