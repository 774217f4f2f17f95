import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ClientLog } from "./client-log.js";
import type { SessionDeps } from "./tool-deps.js";

/**
 * Tells the session's client, with a log message, when one of its principal's runners became ready (`info`) or
 * was removed (`notice`), by this session or another one. Stops when the session closes. Call before connecting.
 */
export function announceRunnerChanges(server: McpServer, deps: SessionDeps, clientLog: ClientLog): void {
  // One lookup after another, so the client hears of changes in the order they happened.
  let queue = Promise.resolve();
  const announce = async (runnerId: string): Promise<void> => {
    const runner = (await deps.runners.list(deps.principal)).find((candidate) => candidate.runnerId === runnerId);
    if (!runner) clientLog("notice", `Runner ${runnerId} was removed.`, { runner_id: runnerId, status: "removed" });
    else if (runner.status === "ready") clientLog("info", `Runner ${runnerId} is ready (image ${runner.image}).`, { runner_id: runnerId, status: "ready", image: runner.image });
  };
  const stop = deps.runners.onRunnerChange((principalId, runnerId) => {
    if (principalId !== deps.principal.id) return;
    queue = queue.then(() => announce(runnerId)).catch((error: unknown) => deps.log.debug({ err: error, runner: runnerId }, "could not look up a changed runner to announce it"));
  });
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    previousOnClose?.();
    stop();
  };
}
