import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { snapshotOutputSchema, snapshotRefArg, toSnapshotOutput } from "./snapshot-schemas.js";

const DESCRIPTION =
  "Delete one of your snapshots for good (its image). Refused (FAILED_PRECONDITION) while a runner spawned from it still exists, running or stopped: remove those runners first with runner_remove. " +
  "Runners and workspaces are never touched.";

const TOOL = {
  title: "Delete a snapshot",
  description: DESCRIPTION,
  inputSchema: z.object({ snapshot: snapshotRefArg }),
  outputSchema: z.object({
    snapshot: snapshotOutputSchema.describe("The snapshot that was deleted."),
    removed: z.literal(true),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerSnapshotRemoveTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "snapshot_remove", TOOL, async ({ snapshot: ref }) => {
    const removed = await deps.runners.removeSnapshot(deps.principal, ref);
    return toolSuccess(
      { snapshot: toSnapshotOutput(removed), removed: true },
      `Snapshot ${removed.snapshotId}${removed.name ? ` "${removed.name}"` : ""} was deleted.`,
    );
  });
}
