import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { READ_CAP_BYTES } from "../../runners/files/file-service.js";
import { isTextMimeType } from "../../runners/files/mime-type.js";
import { fileEntrySchema, ifMatchArg, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Read a file",
  description:
    `Read a file in a runner as UTF-8 text or base64, with its etag and media type. At most ${READ_CAP_BYTES} bytes per call: ` +
    "read larger files in ranges with offset and length, passing the etag of the first range as if_match so all ranges come from one version.",
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The file to read", "/work/src/main.c"),
    encoding: z
      .enum(["utf8", "base64"])
      .default("utf8")
      .describe('"utf8" for text, "base64" for binary files (images, archives, executables).'),
    offset: z.number().int().min(0).default(0).describe("Byte offset to start reading at."),
    length: z
      .number()
      .int()
      .min(0)
      .max(READ_CAP_BYTES)
      .default(0)
      .describe(`Bytes to read; 0 reads to the end (up to ${READ_CAP_BYTES}).`),
    if_match: ifMatchArg.describe(
      "An etag from an earlier read: read only if the file is still that version (fails with ETAG_MISMATCH otherwise).",
    ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    file: fileEntrySchema,
    content: z.string().describe("The bytes read, in the requested encoding."),
    encoding: z.enum(["utf8", "base64"]),
    offset: z.number().int(),
    length: z.number().int().describe("Bytes returned."),
    eof: z.boolean().describe("True when the read reached the end of the file."),
    mime_type: z
      .string()
      .describe(
        'The media type, from the name and the content, e.g. "text/x-python", "application/json", "image/png".',
      ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerFsReadTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_read", TOOL, async ({ runner, path, encoding, offset, length, if_match }, extra) => {
    const target = await canonicalRunner(deps, runner);
    const read = await deps.files.read(
      deps.principal,
      target.id,
      await deps.roots.resolvePath(target.id, path, extra),
      { encoding, offset, length, ifMatch: if_match },
    );
    const eof = read.offset + read.length >= read.info.size;
    const structured = {
      runner_id: target.id,
      file: toFileEntry(read.info),
      content: read.content,
      encoding,
      offset: read.offset,
      length: read.length,
      eof,
      mime_type: read.mimeType,
    };
    if (encoding === "base64")
      return toolSuccess(
        structured,
        withRunnerNote(
          target,
          `${read.length} bytes of ${read.info.path} (${read.mimeType}, base64):\n${read.content}`,
        ),
      );
    const warning = isTextMimeType(read.mimeType)
      ? ""
      : `[${read.info.path} is ${read.mimeType}; read it with encoding "base64" to get its bytes intact]\n`;
    return toolSuccess(structured, withRunnerNote(target, warning + read.content));
  });
}
