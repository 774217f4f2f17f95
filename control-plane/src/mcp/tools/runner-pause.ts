import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { runnerOutputSchema, toRunnerOutput } from "./runner-schemas.js";

const PAUSE = {
  title: "Pause a runner",
  description:
    "Freeze every process of a runner where it stands (the cgroup freezer): its memory, open files and /work stay as they are, it uses no CPU, " +
    "and its processes notice nothing but the lost time (timers and network peers may). The next call naming it (exec, fs_*, …) or runner_resume " +
    "thaws it. Cheaper to come back from than runner_stop, which ends processes; a paused runner still holds its memory.",
  inputSchema: z.object({ runner: runnerArg }),
  outputSchema: runnerOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

const RESUME = {
  title: "Resume a paused runner",
  description:
    "Thaw a runner paused by runner_pause or by the server's idle check: its processes continue where they stood. " +
    "A running runner is left as it is. Any call naming a paused runner resumes it too; use this to resume it without doing anything else.",
  inputSchema: z.object({ runner: runnerArg }),
  outputSchema: runnerOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerRunnerPauseTools(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "runner_pause", PAUSE, async ({ runner }) => {
    const paused = await deps.runners.pause(deps.principal, runner);
    return toolSuccess(
      toRunnerOutput(paused),
      `Runner ${paused.runnerId} is paused: its processes are frozen; the next call naming it, or runner_resume, thaws it.`,
    );
  });
  registerTool(server, "runner_resume", RESUME, async ({ runner }) => {
    const resumed = await deps.runners.resume(deps.principal, runner);
    return toolSuccess(toRunnerOutput(resumed), `Runner ${resumed.runnerId} is ${resumed.status}.`);
  });
}
