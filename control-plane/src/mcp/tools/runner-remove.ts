import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";

export function registerRunnerRemoveTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "runner_remove",
    {
      title: "Remove a runner",
      description:
        "Stop and delete a runner. Its running processes end and everything in its filesystem is lost; " +
        "copy out what you need with fs_read first.",
      inputSchema: { runner: runnerArg },
      outputSchema: {
        runner_id: z.string().describe("The removed runner's id."),
        removed: z.literal(true),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async ({ runner }) => {
      try {
        const removed = await deps.runners.remove(deps.principal, runner);
        return toolSuccess({ runner_id: removed.runnerId, removed: true }, `Runner ${removed.runnerId} removed.`);
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
