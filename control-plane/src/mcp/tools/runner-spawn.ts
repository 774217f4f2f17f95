import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { SpawnProgress } from "../../runners/runner-service.js";
import { describePullProgress } from "../../runners/spawn/runner-spawner.js";
import { registerOptionalTaskTool } from "../optional-task-tool.js";
import { createProgressReporter, type ProgressReporter } from "../progress.js";
import type { ToolDeps } from "../tool-deps.js";
import { settleTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { describeRunner, runnerOutputShape, toRunnerOutput } from "./runner-schemas.js";
import { runnerSpawnInputSchema, toSpawnRequest, type SpawnArgs } from "./runner-spawn-schemas.js";
import { createToolTaskHandler } from "../tasks/tool-task.js";

const PHASE_PROGRESS: Record<SpawnProgress["phase"], number> = { pulling: 10, creating: 50, starting: 70, ready: 100 };

const DESCRIPTION =
  "Start a new runner: a Linux development container of your own with a working directory /work. " +
  'By default /work is a workspace volume that outlives the runner (come back to it with runner_attach and its workspace_key); storage "tmpfs" makes it transient. ' +
  "Waits until the runner is ready (wait: true, the default; progress is reported while the image is pulled and the runner starts), then returns its runner_id; " +
  "pass that id (or the alias or workspace_key) as `runner` to exec and the fs_* tools. " +
  'With wait: false it returns at once with status "starting"; readiness (or failure) then arrives as a log message and as notifications/resources/updated on devhatchery://runners/{runner_id} (subscribe to it), ' +
  "since progress notifications end with the call. Also runs as an MCP task (tasks/get, tasks/result; with a progressToken, progress keeps coming until the task ends). Stop it with runner_stop, delete it with runner_remove.";

const TOOL = {
  title: "Spawn a runner",
  description: DESCRIPTION,
  inputSchema: runnerSpawnInputSchema,
  outputSchema: z.object({
    ...runnerOutputShape,
    status: z
      .enum(["starting", "ready"])
      .describe(
        '"ready": the runner accepts commands; "starting" (wait: false): not yet, you will be told when it is.',
      ),
    reused: z
      .boolean()
      .describe("True when an earlier call with the same idempotency_key made this runner; no new runner was created."),
    startup_ms: z
      .number()
      .int()
      .optional()
      .describe("Milliseconds from the call to the runner being ready (wait: true)."),
  }),
  // Open world: the image may be pulled from its registry.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
};

/** runner_spawn: a plain call waits (or not, per `wait`); a task-augmented call returns a task at once and spawns in the background. */
export function registerRunnerSpawnTool(server: McpServer, deps: ToolDeps): void {
  registerOptionalTaskTool(server, "runner_spawn", TOOL, {
    plain: (args, extra) => spawnRunner(deps, args, createProgressReporter(extra)),
    task: createToolTaskHandler(
      deps,
      (args, report) => spawnRunner(deps, args, report),
      (notification) => server.server.notification(notification),
      "runner_spawn",
    ),
  });
}

/** How often a pull's progress is reported at most (each whole percent, or each new status before sizes are known). */
const PULL_REPORT_MS = 250;

/** Passes every phase on, and a pull's progress only when its percentage moved, at most every PULL_REPORT_MS. */
function pullThrottled(report: (progress: SpawnProgress) => void): (progress: SpawnProgress) => void {
  let last = { at: 0, mark: "" };
  return (progress) => {
    if (progress.phase === "pulling") {
      const { fraction, status } = progress.detail;
      const mark = fraction === undefined ? status : String(Math.floor(fraction * 100));
      const now = Date.now();
      if (mark === last.mark || (now - last.at < PULL_REPORT_MS && mark !== "100")) return;
      last = { at: now, mark };
    }
    report(progress);
  };
}

/** The tool's work as one call: the result (or failure) a plain call returns and a task stores; `report` hears the phases. */
export async function spawnRunner(deps: ToolDeps, args: SpawnArgs, report: ProgressReporter): Promise<CallToolResult> {
  const startedAt = Date.now();
  // Every progress report goes out before the result (or failure) is returned.
  return settleTool(() => startRunner(deps, args, report, startedAt).finally(() => report.flush()));
}

async function startRunner(
  deps: ToolDeps,
  args: SpawnArgs,
  report: ProgressReporter,
  startedAt: number,
): Promise<CallToolResult> {
  const onProgress = pullThrottled((progress: SpawnProgress): void => {
    if (progress.phase !== "pulling") return report(PHASE_PROGRESS[progress.phase], progress.phase);
    // A pull fills 10..50 of the spawn's progress, by bytes downloaded.
    const { detail } = progress;
    const share = PHASE_PROGRESS.creating - PHASE_PROGRESS.pulling;
    report(
      PHASE_PROGRESS.pulling + Math.floor(share * (detail.fraction ?? 0)),
      `pulling ${args.image ?? "the image"}: ${describePullProgress(detail)}`,
      detail.bytes ? { "io.devhatchery/bytes": detail.bytes, "io.devhatchery/layers": detail.layers } : undefined,
    );
  });
  const started = await deps.runners.startSpawn(
    deps.principal,
    toSpawnRequest(args),
    args.wait ? onProgress : undefined,
  );
  if (!args.wait) {
    // The caller hears of readiness through runner-announcements (log message) and the runner resource's subscribers.
    started.ready.catch((error: unknown) =>
      deps.log.debug({ err: error, runner: started.runner.runnerId }, "background spawn failed"),
    );
    const status = started.runner.status === "ready" ? "ready" : "starting";
    return toolSuccess(
      { ...toRunnerOutput(started.runner), status, reused: started.reused },
      `Runner ${started.runner.runnerId} is ${status}${started.reused ? " (reused for this idempotency_key)" : ""}; ` +
        `a log message tells you when it is ready, or read devhatchery://runners/${started.runner.runnerId}.`,
    );
  }
  const runner = await started.ready;
  await report.flush();
  const startupMs = Date.now() - startedAt;
  return toolSuccess(
    { ...toRunnerOutput(runner), status: "ready", reused: started.reused, startup_ms: startupMs },
    `Runner ${describeRunner(runner)}, ready in ${startupMs} ms${started.reused ? " (reused for this idempotency_key)" : ""}.`,
  );
}
