import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { describeSnapshot, snapshotNameArg, snapshotOutputSchema, toSnapshotOutput } from "./snapshot-schemas.js";

const DESCRIPTION =
  "Save a runner's installed state as a snapshot: an image of its filesystem (installed packages, tools, configuration, everything outside /work) that runner_spawn can start new runners from (snapshot: id or name). " +
  "/work is NOT in the snapshot: it is the runner's workspace volume (or tmpfs), kept separately; spawn from the snapshot with a workspace_key to get a workspace too. " +
  "The runner may be running (it is paused for the moment of the copy) or stopped. Only you can see and use your snapshots; delete one with snapshot_remove.";

const INPUT = z.object({
  runner: runnerArg,
  name: snapshotNameArg.optional(),
});

const TOOL = {
  title: "Snapshot a runner",
  description: DESCRIPTION,
  inputSchema: INPUT,
  outputSchema: snapshotOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
};

export function registerSnapshotCreateTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "snapshot_create", TOOL, async ({ runner, name }) => {
    const snapshot = await deps.runners.createSnapshot(deps.principal, runner, { name });
    return toolSuccess(
      toSnapshotOutput(snapshot),
      `Snapshot ${describeSnapshot(snapshot)} created; runner_spawn with snapshot "${snapshot.name ?? snapshot.snapshotId}" starts from it.`,
    );
  });
}
