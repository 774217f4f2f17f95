import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { WRITE_CAP_BYTES } from "../../runners/files/file-service.js";
import { fileEntrySchema, ifMatchArg, modeArg, parseMode, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Write a file",
  description:
    "Create or replace a file in a runner with the given content. The write is atomic: readers see the old or the new file, never a mix. " +
    "To change a file you read, pass its etag as if_match: the write then fails with ETAG_MISMATCH instead of overwriting someone else's change. " +
    `At most ${WRITE_CAP_BYTES} bytes per call.`,
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The file to write", "/work/hello.py"),
    content: z.string().describe("The file's new content, in the given encoding."),
    encoding: z.enum(["utf8", "base64"]).default("utf8").describe('"utf8" for text, "base64" for binary content.'),
    create_parents: z.boolean().default(true).describe("Create missing parent directories (default true)."),
    mode: modeArg
      .optional()
      .describe(
        'Permission bits in octal, e.g. "0755" for a script. Default: keep an existing file\'s mode, else "0644".',
      ),
    if_match: ifMatchArg.describe(
      "The etag the file must still have (from fs_read, fs_stat, fs_list or an earlier fs_write); the write is refused with ETAG_MISMATCH if the file changed or was removed. Omit to write unconditionally.",
    ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    file: fileEntrySchema.describe("The file as written, with its new etag."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

export function registerFsWriteTool(server: McpServer, deps: ToolDeps): void {
  registerTool(
    server,
    "fs_write",
    TOOL,
    async ({ runner, path, content, encoding, create_parents, mode, if_match }, extra) => {
      const target = await canonicalRunner(deps, runner);
      const info = await deps.files.write(
        deps.principal,
        target.id,
        await deps.roots.resolvePath(target.id, path, extra),
        content,
        {
          encoding,
          createParents: create_parents,
          mode: parseMode(mode),
          ifMatch: if_match,
        },
      );
      const file = toFileEntry(info);
      return toolSuccess(
        { runner_id: target.id, file },
        withRunnerNote(target, `Wrote ${file.size} bytes to ${file.path} (mode ${file.mode}, etag ${file.etag}).`),
      );
    },
  );
}
