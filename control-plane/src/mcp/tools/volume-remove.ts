import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { workspaceKeyArg } from "./runner-spawn-schemas.js";
import { workspaceOutputSchema, toWorkspaceOutput } from "./volume-schemas.js";

const TOOL = {
  title: "Delete a workspace",
  description:
    "Delete a workspace volume and every file in it, for good. Refused (VOLUME_IN_USE) while any runner, running or stopped, mounts it: remove those runners first with runner_remove.",
  inputSchema: z.object({
    workspace_key: workspaceKeyArg.describe('The workspace to delete, e.g. "my-project" (see volume_list).'),
  }),
  outputSchema: z.object({
    workspace: workspaceOutputSchema.describe("The workspace that was deleted."),
    removed: z.literal(true),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerVolumeRemoveTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "volume_remove", TOOL, async ({ workspace_key: workspaceKey }) => {
    const removed = await deps.runners.removeWorkspace(deps.principal, workspaceKey);
    return toolSuccess(
      { workspace: toWorkspaceOutput(removed), removed: true },
      `Workspace "${removed.workspaceKey}" and its volume ${removed.volume} were deleted.`,
    );
  });
}
