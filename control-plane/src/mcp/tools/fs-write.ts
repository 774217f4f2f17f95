import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { WRITE_CAP_BYTES } from "../../runners/file-service.js";
import { fileEntrySchema, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";

export function registerFsWriteTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "fs_write",
    {
      title: "Write a file",
      description:
        "Create or replace a file in a runner with the given content. The write is atomic: readers see the old or the new file, never a mix. " +
        `At most ${WRITE_CAP_BYTES} bytes per call. Relative paths resolve against /work.`,
      inputSchema: {
        runner: runnerArg,
        path: z.string().min(1).describe('The file to write, e.g. "/work/hello.py".'),
        content: z.string().describe("The file's new content, in the given encoding."),
        encoding: z.enum(["utf8", "base64"]).default("utf8").describe('"utf8" for text, "base64" for binary content.'),
        create_parents: z.boolean().default(true).describe("Create missing parent directories (default true)."),
        mode: z
          .string()
          .regex(/^0?[0-7]{3,4}$/, 'mode must be octal permission bits such as "0644" or "755"')
          .optional()
          .describe('Permission bits in octal, e.g. "0755" for a script. Default: keep an existing file\'s mode, else "0644".'),
      },
      outputSchema: { file: fileEntrySchema },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ runner, path, content, encoding, create_parents, mode }) => {
      try {
        const info = await deps.files.write(deps.principal, runner, path, content, {
          encoding,
          createParents: create_parents,
          mode: mode === undefined ? undefined : Number.parseInt(mode, 8),
        });
        const file = toFileEntry(info);
        return toolSuccess({ file }, `Wrote ${file.size} bytes to ${file.path} (mode ${file.mode}).`);
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
