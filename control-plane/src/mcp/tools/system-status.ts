import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { QUOTA_NAMES, type QuotaName } from "../../config.js";
import type { RunnerStatus } from "../../runners/runner.js";
import { asControlPlaneError } from "../../errors.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";

const STATUSES = [
  "starting",
  "ready",
  "paused",
  "stopped",
  "failed",
  "unknown",
] as const satisfies readonly RunnerStatus[];

const TOOL = {
  title: "Server status",
  description:
    "Whether this DevHatchery server can work for you right now: its version, whether it reaches its Docker engine, and how many runners (by status) and workspaces you have. " +
    "Shows only your own runners and workspaces. Call it when tools fail with DOCKER_UNAVAILABLE or before a long session.",
  inputSchema: z.object({}),
  outputSchema: z.object({
    version: z.string().describe("The control plane's version."),
    docker_reachable: z
      .boolean()
      .describe(
        "Whether the Docker engine answers; when false, spawning and most tools fail until the operator fixes it.",
      ),
    runners: z
      .object(
        Object.fromEntries(STATUSES.map((status) => [status, z.number().int()])) as Record<
          (typeof STATUSES)[number],
          z.ZodNumber
        >,
      )
      .describe("How many of your runners are in each status."),
    runner_count: z.number().int().describe("All your runners."),
    workspace_count: z.number().int().describe("Your workspaces (volumes)."),
    quotas: z
      .array(
        z.object({
          quota: z
            .enum(Object.values(QUOTA_NAMES) as [QuotaName, ...QuotaName[]])
            .describe(
              "running_runners, cpus and memory_mb count running, paused and starting runners (paused ones use no cpus); " +
                "workspace_disk_mb, snapshot_mb and export_mb are MiB of disk: your workspace volumes as measured (up to 30 s old), " +
                "what your snapshots add over their source images, and your exports in the export root.",
            ),
          used: z.number().describe("What you use of it now (MiB with one decimal for the *_mb disk quotas)."),
          limit: z.number().describe("The most you may use."),
          source: z.string().describe('Whose quota it is: your policy\'s name, or "server".'),
        }),
      )
      .optional()
      .describe(
        "Your quotas with your usage of each; absent when you have none. A call that would go past one, or that needs room while workspace_disk_mb, snapshot_mb or export_mb is full, fails with QUOTA_EXCEEDED.",
      ),
    prepulls: z
      .array(
        z.object({
          image: z.string(),
          state: z.enum(["waiting", "pulling", "ready", "failed", "skipped"]),
          detail: z
            .string()
            .optional()
            .describe('While pulling, how far ("45% of 27.1 MB, 2 of 5 layers"); when failed, why.'),
        }),
      )
      .optional()
      .describe(
        "The images this server pulls in the background at start-up (images.prepull), so runners of them start without a pull; absent when there are none.",
      ),
    pools: z
      .array(
        z.object({
          name: z.string(),
          image: z
            .string()
            .describe("What a spawn must ask for (with storage tmpfs, its profile and network) to claim one."),
          ready: z.number().int().describe("Runners ready to be claimed now."),
          starting: z.number().int().describe("Runners being created to refill it."),
          target: z.number().int().describe("The size it refills to: min, more after misses (up to max)."),
          min: z.number().int(),
          max: z.number().int(),
          claims: z.number().int().describe("Spawns that claimed one since the server started."),
          misses: z.number().int().describe("Matching spawns that found it empty and started cold."),
          last_error: z.string().optional().describe("Why refilling fails, while it does."),
        }),
      )
      .optional()
      .describe(
        "The server's warm pools: a runner_spawn with storage \"tmpfs\", no mounts and a pool's image, profile and network claims a ready runner in milliseconds (pooled: true). Absent when there are none.",
      ),
    jobs: z
      .object({
        queued: z.number().int().describe("Jobs (of everyone) waiting for a slot."),
        running: z.number().int(),
        max_concurrent: z.number().int().describe("Jobs that run at once; the rest wait in a queue."),
        profiles: z
          .array(
            z.object({
              name: z.string(),
              description: z.string().optional(),
              image: z.string(),
              timeout_s: z.number().int(),
              secrets: z
                .array(
                  z.object({
                    name: z.string(),
                    supplied: z.boolean().describe("The operator supplies it; you need not pass it."),
                  }),
                )
                .describe("Secrets its agent needs."),
            }),
          )
          .describe("What job_run's profile can name."),
      })
      .describe("One-shot agent jobs (job_run)."),
    error: z.string().optional().describe("What could not be counted, when Docker or the state store failed."),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerSystemStatusTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "system_status", TOOL, async () => {
    const engineReachable = await deps.engineReachable();
    const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<RunnerStatus, number>;
    let workspaceCount = 0;
    let quotas: Awaited<ReturnType<typeof deps.runners.quotaStatus>> = [];
    let error: string | undefined;
    try {
      for (const runner of await deps.runners.list(deps.principal)) counts[runner.status] += 1;
      workspaceCount = (await deps.runners.listWorkspaces(deps.principal, { sizes: false })).length;
      quotas = await deps.runners.quotaStatus(deps.principal);
    } catch (failure) {
      error = asControlPlaneError(failure).message;
    }
    const prepulls = deps.runners.prepullStatus().map((entry) => ({
      image: entry.image,
      state: entry.state,
      ...(entry.detail ? { detail: entry.detail } : {}),
    }));
    const pools = deps.runners.poolStatus().map((pool) => ({
      name: pool.name,
      image: pool.image,
      ready: pool.ready,
      starting: pool.starting,
      target: pool.target,
      min: pool.min,
      max: pool.max,
      claims: pool.claims,
      misses: pool.misses,
      ...(pool.lastError ? { last_error: pool.lastError } : {}),
    }));
    const jobCounts = deps.jobs.counts();
    const jobs = {
      queued: jobCounts.queued,
      running: jobCounts.running,
      max_concurrent: jobCounts.maxConcurrent,
      profiles: deps.jobs.profiles().map((profile) => ({
        name: profile.name,
        ...(profile.description ? { description: profile.description } : {}),
        image: profile.image,
        timeout_s: profile.timeoutS,
        secrets: profile.secrets.map((secret) => ({ name: secret.name, supplied: secret.from !== undefined })),
      })),
    };
    const runnerCount = Object.values(counts).reduce((sum, count) => sum + count, 0);
    const summary =
      STATUSES.filter((status) => counts[status] > 0)
        .map((status) => `${counts[status]} ${status}`)
        .join(", ") || "none";
    return toolSuccess(
      {
        version: deps.version,
        docker_reachable: engineReachable,
        runners: counts,
        runner_count: runnerCount,
        workspace_count: workspaceCount,
        ...(quotas.length > 0 ? { quotas } : {}),
        ...(prepulls.length > 0 ? { prepulls } : {}),
        ...(pools.length > 0 ? { pools } : {}),
        jobs,
        ...(error ? { error } : {}),
      },
      `DevHatchery ${deps.version}; Docker ${engineReachable ? "reachable" : "NOT reachable"}; your runners: ${summary}; workspaces: ${workspaceCount}` +
        (quotas.length > 0
          ? `; quotas: ${quotas.map((quota) => `${quota.quota} ${quota.used}/${quota.limit}`).join(", ")}.`
          : ".") +
        (prepulls.length > 0
          ? ` Prepulls: ${prepulls.map((entry) => `${entry.image} ${entry.state}${entry.detail ? ` (${entry.detail})` : ""}`).join(", ")}.`
          : "") +
        (pools.length > 0
          ? ` Warm pools: ${pools.map((pool) => `${pool.name} (${pool.image}) ${pool.ready} ready${pool.starting > 0 ? `, ${pool.starting} starting` : ""}`).join(", ")}.`
          : "") +
        ` Jobs: ${jobs.running} running, ${jobs.queued} queued (at most ${jobs.max_concurrent} at once); profiles: ${jobs.profiles.map((profile) => profile.name).join(", ")}.` +
        (error ? ` (${error})` : ""),
    );
  });
}
