import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";

const TOOL = {
  title: "Remove a runner",
  description:
    'Delete a runner: its processes end and its container is gone. With storage "volume" (the default) the workspace volume, i.e. /work, is KEPT unless you set remove_volume: ' +
    "spawn or attach with the same workspace_key later to get your files back. Everything outside /work (installed packages) is lost, and so is /work of a tmpfs runner.",
  inputSchema: z.object({
    runner: runnerArg,
    remove_volume: z
      .boolean()
      .default(false)
      .describe(
        "Also delete the runner's workspace volume and every file in /work, for good. Default false: the workspace stays (see volume_list, volume_remove).",
      ),
  }),
  outputSchema: z.object({
    runner_id: z.string().describe("The removed runner's id."),
    removed: z.literal(true),
    workspace_key: z.string().optional().describe("The workspace the runner mounted (storage volume)."),
    volume_removed: z
      .boolean()
      .describe("True when the workspace volume was deleted too; false when it was kept (or there was none: tmpfs)."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerRunnerRemoveTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "runner_remove", TOOL, async ({ runner, remove_volume: removeVolume }) => {
    const removed = await deps.runners.remove(deps.principal, runner, { removeVolume });
    const key = removed.runner.workspaceKey;
    const kept =
      key && !removed.volumeRemoved ? `; workspace "${key}" is kept (runner_attach "${key}" brings it back)` : "";
    return toolSuccess(
      {
        runner_id: removed.runner.runnerId,
        removed: true,
        ...(key ? { workspace_key: key } : {}),
        volume_removed: removed.volumeRemoved,
      },
      `Runner ${removed.runner.runnerId} removed${removed.volumeRemoved ? ` with its workspace "${key}"` : kept}.`,
    );
  });
}
