import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { describeRunner, runnerOutputSchema, toRunnerOutput } from "./runner-schemas.js";

const TOOL = {
  title: "List your runners",
  description:
    "Your runners, newest first: status (starting, ready, stopped, failed), image, alias, workspace_key, storage, limits, creation time and last activity. " +
    "Use it to find a runner to come back to (runner_attach) or to clean up (runner_stop, runner_remove). Other users' runners are never shown.",
  inputSchema: z.object({}),
  outputSchema: z.object({ runners: z.array(runnerOutputSchema).describe("Your runners, newest first.") }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerRunnerListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "runner_list", TOOL, async () => {
    const runners = await deps.runners.list(deps.principal);
    const text =
      runners.length === 0
        ? "You have no runners; start one with runner_spawn."
        : `${runners.length} runner(s):\n${runners.map(describeRunner).join("\n")}`;
    return toolSuccess({ runners: runners.map(toRunnerOutput) }, text);
  });
}
