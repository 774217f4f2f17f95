import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { runnerOutputSchema, toRunnerOutput } from "./runner-schemas.js";

const TOOL = {
  title: "Stop a runner",
  description:
    "Stop a runner's container. Destructive: its running processes are ended (SIGTERM, then SIGKILL), and what only they held goes with them " +
    '(their output for exec_read, open fs_watch watches), as does a tmpfs /work (storage "tmpfs") with every file in it. ' +
    "A workspace volume /work and the rest of its filesystem (installed packages, configuration) are kept. " +
    "Start it again with runner_attach. Use runner_remove to delete it instead.",
  inputSchema: z.object({ runner: runnerArg }),
  outputSchema: runnerOutputSchema,
  // Destructive: it ends processes, and a tmpfs /work is lost (runner-annotations e2e shows both).
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

export function registerRunnerStopTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "runner_stop", TOOL, async ({ runner }) => {
    const stopped = await deps.runners.stop(deps.principal, runner);
    return toolSuccess(
      toRunnerOutput(stopped),
      stopped.storage === "tmpfs"
        ? `Runner ${stopped.runnerId} is stopped; its tmpfs /work is gone. runner_attach starts it again with an empty /work.`
        : `Runner ${stopped.runnerId} is stopped; runner_attach starts it again with its files.`,
    );
  });
}
