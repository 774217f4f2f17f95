import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fileEntrySchema, modeArg, parseMode, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Create a directory",
  description:
    "Create a directory in a runner. With parents (the default) it works like `mkdir -p`: missing parents are created and an existing directory is fine. " +
    "Files need no fs_mkdir first: fs_write creates their parents.",
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The directory to create", "/work/src/lib"),
    parents: z
      .boolean()
      .default(true)
      .describe(
        "Create missing parent directories and accept an existing directory (default true); false fails when the parent is missing or the directory exists.",
      ),
    mode: modeArg.optional().describe('Permission bits in octal for the new directory, e.g. "0700". Default "0755".'),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    directory: fileEntrySchema.describe("The directory as it is now."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerFsMkdirTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_mkdir", TOOL, async ({ runner, path, parents, mode }, extra) => {
    const target = await canonicalRunner(deps, runner);
    const directory = toFileEntry(
      await deps.files.mkdir(deps.principal, target.id, await deps.roots.resolvePath(target.id, path, extra), {
        parents,
        mode: parseMode(mode),
      }),
    );
    return toolSuccess(
      { runner_id: target.id, directory },
      withRunnerNote(target, `Directory ${directory.path} exists (mode ${directory.mode}).`),
    );
  });
}
