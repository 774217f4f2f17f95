import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { describeSnapshot, snapshotOutputSchema, toSnapshotOutput } from "./snapshot-schemas.js";

const DESCRIPTION =
  "Your snapshots (images taken from your runners with snapshot_create), newest first, with id, name, source and size. " +
  "Start a runner from one with runner_spawn (snapshot: id or name); delete one with snapshot_remove.";

const TOOL = {
  title: "List your snapshots",
  description: DESCRIPTION,
  inputSchema: z.object({}),
  outputSchema: z.object({ snapshots: z.array(snapshotOutputSchema).describe("Your snapshots, newest first.") }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerSnapshotListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "snapshot_list", TOOL, async () => {
    const snapshots = await deps.runners.listSnapshots(deps.principal);
    const text =
      snapshots.length === 0
        ? "You have no snapshots; snapshot_create takes one of a runner."
        : `${snapshots.length} snapshot(s):\n${snapshots.map(describeSnapshot).join("\n")}`;
    return toolSuccess({ snapshots: snapshots.map(toSnapshotOutput) }, text);
  });
}
