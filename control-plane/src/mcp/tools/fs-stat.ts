import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fileEntrySchema, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Describe a path",
  description:
    "Describe a file or directory in a runner without reading it whole: type, size, mode, modification time, etag, symlink target and, for files, " +
    "the media type. Symlinks are followed (type, size and etag describe what the link points to; link_target says it is a link). " +
    "Fails with NOT_FOUND when nothing is at the path.",
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The path to describe", "/work/package.json"),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    file: fileEntrySchema,
    mime_type: z
      .string()
      .nullable()
      .describe(
        'For a file, its media type from the name and the first bytes, e.g. "image/png"; null for anything else.',
      ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerFsStatTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_stat", TOOL, async ({ runner, path }, extra) => {
    const target = await canonicalRunner(deps, runner);
    const { info, mimeType } = await deps.files.stat(
      deps.principal,
      target.id,
      await deps.roots.resolvePath(target.id, path, extra),
    );
    const file = toFileEntry(info);
    const link = file.link_target === undefined ? "" : ` -> ${file.link_target}`;
    return toolSuccess(
      { runner_id: target.id, file, mime_type: mimeType },
      withRunnerNote(
        target,
        `${file.path}${link}: ${file.type}${mimeType ? ` (${mimeType})` : ""}, ${file.size} bytes, mode ${file.mode}, modified ${file.modified_at}, etag ${file.etag}`,
      ),
    );
  });
}
