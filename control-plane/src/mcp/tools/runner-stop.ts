import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";
import { runnerOutputShape, toRunnerOutput } from "./runner-output.js";

export function registerRunnerStopTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "runner_stop",
    {
      title: "Stop a runner",
      description:
        "Stop a runner's container: its running processes end, but its files (/work and everything else in its filesystem) are kept. " +
        "Start it again with runner_attach. Use runner_remove to delete it instead.",
      inputSchema: { runner: runnerArg },
      outputSchema: runnerOutputShape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ runner }) => {
      try {
        const stopped = await deps.runners.stop(deps.principal, runner);
        return toolSuccess(toRunnerOutput(stopped), `Runner ${stopped.runnerId} is stopped; runner_attach starts it again with its files.`);
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
