import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";
import { snapshotOutputSchema, snapshotRefArg, toSnapshotOutput } from "./snapshot-output.js";

const DESCRIPTION =
  "Delete one of your snapshots for good (its image). Refused (FAILED_PRECONDITION) while a runner spawned from it still exists, running or stopped: remove those runners first with runner_remove. " +
  "Runners and workspaces are never touched.";

const INPUT = z.object({ snapshot: snapshotRefArg });
const OUTPUT = z.object({ snapshot: snapshotOutputSchema.describe("The snapshot that was deleted."), removed: z.literal(true) });

export function registerSnapshotRemoveTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "snapshot_remove",
    {
      title: "Delete a snapshot",
      description: DESCRIPTION,
      inputSchema: INPUT,
      outputSchema: OUTPUT,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async ({ snapshot: ref }) => {
      try {
        const removed = await deps.runners.removeSnapshot(deps.principal, ref);
        return toolSuccess({ snapshot: toSnapshotOutput(removed), removed: true }, `Snapshot ${removed.snapshotId}${removed.name ? ` "${removed.name}"` : ""} was deleted.`);
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
