import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { JobSubmission } from "../../jobs/job-service.js";
import { registerOptionalTaskTool } from "../optional-task-tool.js";
import { createProgressReporter, type ProgressReporter } from "../progress.js";
import { settleTool } from "../register-tool.js";
import { createToolTaskHandler } from "../tasks/tool-task.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolSuccess } from "../tool-result.js";
import {
  describeJob,
  jobOutputSchema,
  jobRunInputSchema,
  toJobOutput,
  type jobRunInputShape,
  type JobRunArgs,
} from "./job-schemas.js";

const DESCRIPTION =
  "Hand a whole task to a coding agent in a fresh runner of its own and get back its result: exit status, the end of its output, its structured result (result.json), " +
  "the git diff and changed files against the repository you name (cloned into /work first), and artifacts exported from /work. " +
  'profile picks the agent ("shell" runs the task as a shell script; operators add e.g. "claude-code"; system_status lists them). ' +
  "secrets reach the agent only as files in $DEVHATCHERY_SECRETS_DIR, never as environment variables. The job is killed after timeout_s (default 300 s). " +
  "The runner is removed when the job ends (keep: true keeps it for a while to inspect with exec and fs_*, its alias being the job id). " +
  "Waits for the end and streams the agent's output as progress notifications (wait: false returns the job id at once); also runs as an MCP task. " +
  "A job goes on when your call ends or you disconnect: job_get follows it (output by cursor), job_cancel stops it, job_list lists yours. Jobs beyond the server's concurrency wait in a queue.";

const TOOL = {
  title: "Run an agent job",
  description: DESCRIPTION,
  inputSchema: jobRunInputSchema,
  outputSchema: jobOutputSchema,
  // Open world: the agent may reach the network, clone and pull.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
};

/** Output is batched into progress notifications this often at most, each at most this long. */
const OUTPUT_BATCH_MS = 250;
const OUTPUT_BATCH_CHARS = 4096;

export function registerJobRunTool(server: McpServer, deps: ToolDeps): void {
  registerOptionalTaskTool(server, "job_run", TOOL, {
    plain: (args, extra) => runJob(deps, args, createProgressReporter(extra)),
    task: createToolTaskHandler<typeof jobRunInputShape>(
      deps,
      (args: JobRunArgs, report, cancelled) => runJob(deps, { ...args, wait: true }, report, cancelled),
      (notification) => server.server.notification(notification),
      "job_run",
    ),
  });
}

export function toSubmission(args: JobRunArgs): JobSubmission {
  return {
    task: args.task,
    profile: args.profile,
    image: args.image,
    snapshot: args.snapshot,
    repository: args.repository,
    secrets: args.secrets,
    env: args.env,
    storage: args.storage,
    cpus: args.cpus,
    memoryMb: args.memory_mb,
    network: args.network,
    timeoutS: args.timeout_s,
    keep: args.keep,
    artifacts: args.artifacts,
  };
}

/** Submits the job and, with wait, follows it to its end: status changes and output as progress. */
export async function runJob(
  deps: ToolDeps,
  args: JobRunArgs,
  report: ProgressReporter,
  cancelled?: AbortSignal,
): Promise<CallToolResult> {
  return settleTool(async () => {
    const submitted = await deps.jobs.submit(deps.principal, toSubmission(args));
    // A cancelled MCP task cancels its job.
    cancelled?.addEventListener(
      "abort",
      () => {
        deps.jobs.cancel(deps.principal, submitted.jobId).catch(() => undefined);
      },
      { once: true },
    );
    if (!args.wait)
      return toolSuccess(
        toJobOutput(submitted),
        `Job ${submitted.jobId} is ${submitted.status}; follow it with job_get (output_cursor reads its output), stop it with job_cancel.`,
      );
    let step = 0;
    let batch = "";
    let timer: NodeJS.Timeout | undefined;
    const sendBatch = (): void => {
      timer = undefined;
      if (batch === "") return;
      report(++step, batch.length > OUTPUT_BATCH_CHARS ? `…${batch.slice(-OUTPUT_BATCH_CHARS)}` : batch, {
        "io.devhatchery/job": submitted.jobId,
        "io.devhatchery/kind": "output",
      });
      batch = "";
    };
    const stop = deps.jobs.follow(deps.principal, submitted.jobId, (event) => {
      if (event.type === "output") {
        // Only the end of a batch is sent: a fast agent must not grow it without bound between two notifications.
        batch = (batch + event.text).slice(-OUTPUT_BATCH_CHARS - 1);
        timer ??= setTimeout(sendBatch, OUTPUT_BATCH_MS);
        return;
      }
      sendBatch();
      clearTimeout(timer);
      report(++step, `${event.status}: ${event.message}`, {
        "io.devhatchery/job": submitted.jobId,
        "io.devhatchery/kind": "status",
      });
    });
    report(++step, `${submitted.status}: ${submitted.message}`, { "io.devhatchery/job": submitted.jobId });
    try {
      const ended = await deps.jobs.waitForEnd(deps.principal, submitted.jobId);
      return toolSuccess(toJobOutput(ended), describeJob(ended));
    } finally {
      stop();
      clearTimeout(timer);
      await report.flush();
    }
  });
}
