import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { execIdArg, execInfoSchema, toExecInfoOutput } from "./exec-schemas.js";

const TOOL = {
  title: "Signal a command",
  description:
    "Send a signal to a process started with exec and to its whole process group (so a shell's children get it too). " +
    'Any signal name, with or without "SIG": "SIGINT" (like Ctrl-C), "SIGTERM" (ask to stop), "SIGKILL" (force), "SIGHUP", "SIGUSR1", … ' +
    "The call returns at once; the process may take a moment to end: exec_read shows its exit.",
  inputSchema: z.object({
    runner: runnerArg,
    exec_id: execIdArg,
    signal: z
      .string()
      .min(1)
      .default("SIGTERM")
      .describe('The signal name, e.g. "SIGTERM" (default), "INT" or "SIGKILL".'),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    exec: execInfoSchema.describe("The process right after the signal was sent (it may still be running)."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerExecSignalTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "exec_signal", TOOL, async ({ runner, exec_id, signal }) => {
    const target = await canonicalRunner(deps, runner);
    const exec = toExecInfoOutput(await deps.execs.signal(deps.principal, target.id, exec_id, signal));
    return toolSuccess(
      { runner_id: target.id, exec },
      withRunnerNote(target, `Sent ${signal} to ${exec_id} (now ${exec.state}).`),
    );
  });
}
