import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { JOB_STATUSES } from "../../jobs/job.js";
import { registerTool } from "../register-tool.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolSuccess } from "../tool-result.js";
import { jobOutputSchema, toJobOutput } from "./job-schemas.js";

const TOOL = {
  title: "List jobs",
  description:
    "Your jobs, newest first: status, message and outcome (without diffs: job_get has them). Ended jobs are kept for the server's retention (a week by default).",
  inputSchema: z.object({
    status: z.enum(JOB_STATUSES).optional().describe("Only jobs with this status."),
    limit: z.number().int().min(1).max(500).default(50).describe("The most jobs to return (default 50)."),
  }),
  outputSchema: z.object({ jobs: z.array(jobOutputSchema) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerJobListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "job_list", TOOL, async ({ status, limit }) => {
    const jobs = deps.jobs.list(deps.principal, { status, limit });
    const lines = jobs.map(
      (job) => `${job.jobId} ${job.status} (${job.request.profile}, ${job.createdAt}): ${job.message}`,
    );
    return toolSuccess(
      { jobs: jobs.map((job) => toJobOutput(job, { includeDiff: false })) },
      jobs.length === 0 ? "You have no jobs." : lines.join("\n"),
    );
  });
}
