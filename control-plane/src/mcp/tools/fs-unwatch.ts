import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { ControlPlaneError } from "../../errors.js";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Stop watching files",
  description:
    "Close a watch you started with fs_watch (in this session or another of yours), freeing its place among the session's watches (sessions.max_watches). " +
    "Changes it recorded are gone with it; fs_changes on it then answers NOT_FOUND.",
  inputSchema: z.object({
    runner: runnerArg,
    watch_id: z.string().min(1).describe("The watch_id returned by fs_watch."),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    watch_id: z.string(),
    path: z.string().describe("The path it watched, absolute."),
    closed: z.literal(true),
  }),
  // Destructive: the changes it recorded are gone; idempotent: closing it again changes nothing more.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

/** fs_unwatch: closes one of the caller's watches in one of their runners (the runner's owner check applies). */
export function registerFsUnwatchTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_unwatch", TOOL, async ({ runner, watch_id }) => {
    const target = await canonicalRunner(deps, runner);
    const ours = deps.sessionWatches.has(target.id, watch_id);
    let path = "";
    try {
      path = (await deps.watches.close(deps.principal, target.id, watch_id)).path;
    } catch (error) {
      // A watch of this session that ended meanwhile (its directory deleted, or idle) is closed all the same.
      if (!(ours && error instanceof ControlPlaneError && error.code === "NOT_FOUND")) throw error;
    }
    deps.sessionWatches.forget(target.id, watch_id);
    return toolSuccess(
      { runner_id: target.id, watch_id, path, closed: true },
      withRunnerNote(target, `Watch ${watch_id}${path ? ` on ${path}` : ""} is closed.`),
    );
  });
}
