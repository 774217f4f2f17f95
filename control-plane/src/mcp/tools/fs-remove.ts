import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fileEntrySchema, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Remove a path",
  description:
    "Remove a file, symlink (the link, not what it points to) or directory in a runner. A directory that is not empty is refused " +
    "unless recursive is true, which removes it with everything in it. There is no undo.",
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The path to remove", "/work/build"),
    recursive: z
      .boolean()
      .default(false)
      .describe(
        "Remove a non-empty directory with all its contents (default false: only files, symlinks and empty directories).",
      ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    removed: fileEntrySchema.describe("What was removed, as it was right before."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

export function registerFsRemoveTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_remove", TOOL, async ({ runner, path, recursive }, extra) => {
    const target = await canonicalRunner(deps, runner);
    const removed = toFileEntry(
      await deps.files.remove(deps.principal, target.id, await deps.roots.resolvePath(target.id, path, extra), {
        recursive,
      }),
    );
    return toolSuccess(
      { runner_id: target.id, removed },
      withRunnerNote(target, `Removed ${removed.type} ${removed.path}.`),
    );
  });
}
