import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { WorkspaceInfo } from "../../runners/runner.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { toWorkspaceOutput, workspaceOutputSchema } from "./volume-schemas.js";

const TOOL = {
  title: "List your workspaces",
  description:
    "Your workspaces: the persistent volumes behind /work, each with its workspace_key, size, last use and the runners that mount it. " +
    "A workspace outlives its runners; get back to one with runner_attach and its workspace_key, delete one for good with volume_remove.",
  inputSchema: z.object({
    sizes: z
      .boolean()
      .default(true)
      .describe(
        "Report each workspace's size in bytes (default true). Measuring asks Docker for disk usage, which can take a second or two on a busy host; pass false for a quick list.",
      ),
  }),
  outputSchema: z.object({
    workspaces: z.array(workspaceOutputSchema).describe("Your workspaces, most recently used first."),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerVolumeListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "volume_list", TOOL, async ({ sizes }) => {
    const workspaces = await deps.runners.listWorkspaces(deps.principal, { sizes });
    const text =
      workspaces.length === 0
        ? "You have no workspaces; runner_spawn creates one."
        : `${workspaces.length} workspace(s):\n${workspaces.map(describeWorkspace).join("\n")}`;
    return toolSuccess({ workspaces: workspaces.map(toWorkspaceOutput) }, text);
  });
}

function describeWorkspace(workspace: WorkspaceInfo): string {
  const size = workspace.sizeBytes === undefined ? "" : `, ${workspace.sizeBytes} bytes`;
  const runners = workspace.runners.length === 0 ? "no runner" : `runners ${workspace.runners.join(", ")}`;
  return `${workspace.workspaceKey} (${runners}${size})`;
}
