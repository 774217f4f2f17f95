import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { runnerOutputSchema, toRunnerOutput } from "./runner-output.js";

const TOOL = {
  title: "Stop a runner",
  description:
    "Stop a runner's container: its running processes end, but its files (/work and everything else in its filesystem) are kept. " +
    "Start it again with runner_attach. Use runner_remove to delete it instead.",
  inputSchema: z.object({ runner: runnerArg }),
  outputSchema: runnerOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerRunnerStopTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "runner_stop", TOOL, async ({ runner }) => {
    const stopped = await deps.runners.stop(deps.principal, runner);
    return toolSuccess(toRunnerOutput(stopped), `Runner ${stopped.runnerId} is stopped; runner_attach starts it again with its files.`);
  });
}
