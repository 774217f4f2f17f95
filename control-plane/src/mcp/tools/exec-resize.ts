import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { execIdArg, execInfoSchema, toExecInfoOutput } from "./exec-schemas.js";

const TOOL = {
  title: "Resize a terminal",
  description:
    "Change the terminal size of a process started with exec and pty: true; it gets SIGWINCH and redraws for the new size. " +
    "Its output keeps its cursor: exec_read goes on from where you were.",
  inputSchema: z.object({
    runner: runnerArg,
    exec_id: execIdArg,
    cols: z.number().int().min(1).max(1000).describe("The new width in columns, e.g. 120."),
    rows: z.number().int().min(1).max(1000).describe("The new height in rows, e.g. 40."),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    exec: execInfoSchema.describe("The process after the resize."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerExecResizeTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "exec_resize", TOOL, async ({ runner, exec_id, cols, rows }) => {
    const target = await canonicalRunner(deps, runner);
    const exec = toExecInfoOutput(await deps.execs.resize(deps.principal, target.id, exec_id, rows, cols));
    return toolSuccess(
      { runner_id: target.id, exec },
      withRunnerNote(target, `Resized the terminal of ${exec_id} to ${cols}x${rows}.`),
    );
  });
}
