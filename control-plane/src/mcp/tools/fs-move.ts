import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fileEntrySchema, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Move or rename a path",
  description:
    "Move or rename a file, symlink or directory in a runner. destination is the new path of source itself, not a directory to move it into. " +
    "An existing destination is replaced only with overwrite (a file or symlink, or an empty directory when moving a directory).",
  inputSchema: z.object({
    runner: runnerArg,
    source: pathArg("The path to move", "/work/draft.md"),
    destination: pathArg("Its new path", "/work/docs/final.md"),
    overwrite: z
      .boolean()
      .default(false)
      .describe("Replace an existing destination (default false: an existing destination fails with ALREADY_EXISTS)."),
    create_parents: z
      .boolean()
      .default(false)
      .describe("Create the destination's missing parent directories (default false)."),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    file: fileEntrySchema.describe("The moved entry at its new path."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerFsMoveTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_move", TOOL, async ({ runner, source, destination, overwrite, create_parents }, extra) => {
    const target = await canonicalRunner(deps, runner);
    const [from, to] = [
      await deps.roots.resolvePath(target.id, source, extra),
      await deps.roots.resolvePath(target.id, destination, extra),
    ];
    const file = toFileEntry(
      await deps.files.move(deps.principal, target.id, from, to, { overwrite, createParents: create_parents }),
    );
    return toolSuccess({ runner_id: target.id, file }, withRunnerNote(target, `Moved ${source} to ${file.path}.`));
  });
}
