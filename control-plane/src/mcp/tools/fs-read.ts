import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { READ_CAP_BYTES } from "../../runners/file-service.js";
import { fileEntrySchema, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";

export function registerFsReadTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "fs_read",
    {
      title: "Read a file",
      description:
        `Read a file in a runner as UTF-8 text or base64. At most ${READ_CAP_BYTES} bytes per call: ` +
        "read larger files in ranges with offset and length. Relative paths resolve against /work.",
      inputSchema: {
        runner: runnerArg,
        path: z.string().min(1).describe('The file, e.g. "/work/src/main.c" or "src/main.c".'),
        encoding: z.enum(["utf8", "base64"]).default("utf8").describe('"utf8" for text, "base64" for binary files.'),
        offset: z.number().int().min(0).default(0).describe("Byte offset to start reading at."),
        length: z.number().int().min(0).max(READ_CAP_BYTES).default(0).describe(`Bytes to read; 0 reads to the end (up to ${READ_CAP_BYTES}).`),
      },
      outputSchema: {
        file: fileEntrySchema,
        content: z.string().describe("The bytes read, in the requested encoding."),
        encoding: z.enum(["utf8", "base64"]),
        offset: z.number().int(),
        length: z.number().int().describe("Bytes returned."),
        eof: z.boolean().describe("True when the read reached the end of the file."),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ runner, path, encoding, offset, length }) => {
      try {
        const read = await deps.files.read(deps.principal, runner, path, { encoding, offset, length });
        const eof = read.offset + read.length >= read.info.size;
        return toolSuccess(
          { file: toFileEntry(read.info), content: read.content, encoding, offset: read.offset, length: read.length, eof },
          encoding === "utf8" ? read.content : `${read.length} bytes of ${read.info.path} (base64):\n${read.content}`,
        );
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
