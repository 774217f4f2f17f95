import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { SpawnProgress } from "../../runners/runner-service.js";
import { createProgressReporter } from "../progress.js";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { describeRunner, runnerOutputShape, toRunnerOutput } from "./runner-schemas.js";

const ACTION_TEXT = {
  reused: "was running and is reused",
  started: "was stopped and has been started",
  spawned: "is a new runner on the existing workspace",
} as const;

const TOOL = {
  title: "Attach to a runner or workspace",
  description:
    "Come back to your work: find a runner by runner_id, alias or workspace_key and make it ready. " +
    "A ready runner is reused, a stopped one is started again (its installed packages intact, and its /work unless that was a tmpfs, which starts empty), and a workspace with no runner gets a new runner on its volume. " +
    "Returns the runner ready for exec and the fs_* tools. Calling it again changes nothing.",
  inputSchema: z.object({
    runner: runnerArg,
    image: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe(
        'Only used when a new runner must be spawned for a workspace: its image, e.g. "python:3.12". Default: the image the workspace was last used with, else the server\'s default.',
      ),
  }),
  outputSchema: z.object({
    ...runnerOutputShape,
    action: z
      .enum(["reused", "started", "spawned"])
      .describe(
        '"reused": it was ready; "started": it was stopped and has been started; "spawned": the workspace had no runner, a new one now mounts it.',
      ),
  }),
  // Open world: a workspace without a runner gets a new one, whose image may be pulled from its registry.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
};

export function registerRunnerAttachTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "runner_attach", TOOL, async ({ runner, image }, extra) => {
    const report = createProgressReporter(extra);
    const onProgress = (progress: SpawnProgress): void => report(progress.phase === "ready" ? 100 : 50, progress.phase);
    // Every progress notification goes out before the result, also when the attach fails.
    const attached = await deps.runners
      .attach(deps.principal, runner, { image }, onProgress)
      .finally(() => report.flush());
    return toolSuccess(
      { ...toRunnerOutput(attached.runner), action: attached.action },
      `Runner ${describeRunner(attached.runner)} ${ACTION_TEXT[attached.action]}.`,
    );
  });
}
