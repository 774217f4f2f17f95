import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { registerTool } from "../register-tool.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolSuccess } from "../tool-result.js";
import { describeJob, jobArg, jobOutputShape, toJobOutput } from "./job-schemas.js";

const TOOL = {
  title: "Get a job",
  description:
    "A job's status (its queue position while queued) or, once it ended, its result, diff and artifacts. " +
    "With output_cursor, also its output from that byte offset (0 = the start), waiting up to wait_ms for more while it runs: " +
    "call again with next_cursor to follow it, also after a reconnect; eof says the output is complete.",
  inputSchema: z.object({
    job: jobArg,
    output_cursor: z.number().int().min(0).optional().describe("Read the output from here (0: the start)."),
    max_bytes: z
      .number()
      .int()
      // At least one whole UTF-8 character, so every read moves the cursor.
      .min(4)
      .max(1024 * 1024)
      .default(64 * 1024)
      .describe("The most output bytes to return (default 64 KiB)."),
    wait_ms: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(0)
      .describe("With output_cursor: wait up to this long for output past the cursor while the job runs."),
  }),
  outputSchema: z.object({
    ...jobOutputShape,
    output: z
      .object({
        text: z.string(),
        cursor: z.number().int(),
        next_cursor: z.number().int(),
        eof: z.boolean().describe("The job ended and nothing comes after next_cursor."),
        truncated: z.boolean().describe("The job's output outgrew what the server keeps (jobs.output_max_mb)."),
      })
      .optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerJobGetTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "job_get", TOOL, async ({ job, output_cursor, max_bytes, wait_ms }) => {
    let output: Record<string, unknown> | undefined;
    if (output_cursor !== undefined) {
      const read = await deps.jobs.readOutput(deps.principal, job, {
        cursor: output_cursor,
        maxBytes: max_bytes,
        waitMs: wait_ms,
      });
      output = {
        text: read.text,
        cursor: read.cursor,
        next_cursor: read.nextCursor,
        eof: read.eof,
        truncated: read.truncated,
      };
    }
    const view = deps.jobs.get(deps.principal, job);
    const text = output
      ? `${describeJob(view)}\nOutput ${String(output.cursor)}..${String(output.next_cursor)}${output.eof ? " (end)" : ""}:\n${String(output.text)}`
      : describeJob(view);
    return toolSuccess({ ...toJobOutput(view), ...(output ? { output } : {}) }, text);
  });
}
