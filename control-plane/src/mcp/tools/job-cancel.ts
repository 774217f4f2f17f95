import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { registerTool } from "../register-tool.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolSuccess } from "../tool-result.js";
import { describeJob, jobArg, jobOutputSchema, toJobOutput } from "./job-schemas.js";

const TOOL = {
  title: "Cancel a job",
  description:
    "Stop a job: a queued one never starts; a running agent is interrupted (SIGINT, then SIGTERM, then SIGKILL) and its runner removed (or kept, with keep: true). " +
    "Returns the job as it ended (status cancelled). Cancelling an ended job changes nothing and returns it.",
  inputSchema: z.object({ job: jobArg }),
  outputSchema: jobOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

export function registerJobCancelTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "job_cancel", TOOL, async ({ job }) => {
    const cancelled = await deps.jobs.cancel(deps.principal, job);
    return toolSuccess(toJobOutput(cancelled), describeJob(cancelled));
  });
}
