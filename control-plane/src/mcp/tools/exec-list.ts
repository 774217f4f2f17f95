import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { describeExit, execInfoSchema, toExecInfoOutput } from "./exec-schemas.js";

const TOOL = {
  title: "List commands",
  description:
    "List the processes started with exec in a runner: running ones first, then finished ones the runner still keeps " +
    "(for 30 minutes by default), with state, command, exit and output size. Read any of them with exec_read.",
  inputSchema: z.object({ runner: runnerArg }),
  outputSchema: z.object({ runner_id: runnerIdOutput, execs: z.array(execInfoSchema) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerExecListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "exec_list", TOOL, async ({ runner }) => {
    const target = await canonicalRunner(deps, runner);
    const infos = await deps.execs.list(deps.principal, target.id);
    const execs = infos.map(toExecInfoOutput);
    const lines = infos.map(
      (info) => `${info.execId} ${describeExit(info.exit)}, ${info.endCursor} bytes of output: ${info.command}`,
    );
    return toolSuccess(
      { runner_id: target.id, execs },
      withRunnerNote(target, execs.length ? lines.join("\n") : "No processes in this runner."),
    );
  });
}
