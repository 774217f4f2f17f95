import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { execIdArg } from "./exec-schemas.js";

const TOOL = {
  title: "Write to a command's stdin",
  description:
    "Send text to the stdin of a running process started by exec with stdin_open: true, e.g. an answer to a prompt (end it with \\n). " +
    "Set close to true to close stdin afterwards (the program sees end of file). Read what the program answers with exec_read. " +
    "What the input does is up to the program, as with exec: a shell runs it as commands.",
  inputSchema: z.object({
    runner: runnerArg,
    exec_id: execIdArg,
    data: z.string().default("").describe('Text to write, sent as UTF-8 exactly as given, e.g. "yes\\n".'),
    close: z.boolean().default(false).describe("Close stdin after writing data."),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    exec_id: z.string(),
    written_bytes: z.number().int().describe("Bytes of data written by this call."),
    stdin_bytes: z
      .number()
      .int()
      .describe("Bytes written to the process's stdin so far, the exec call's stdin included."),
    closed: z.boolean().describe("True when this call closed stdin."),
  }),
  // Like exec: the program decides what its input does (a shell reading stdin runs it as commands, network included).
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
};

export function registerExecWriteTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "exec_write", TOOL, async ({ runner, exec_id, data, close }) => {
    const target = await canonicalRunner(deps, runner);
    const stdinBytes = await deps.execs.write(deps.principal, target.id, exec_id, data, close);
    const written = Buffer.byteLength(data, "utf8");
    return toolSuccess(
      { runner_id: target.id, exec_id, written_bytes: written, stdin_bytes: stdinBytes, closed: close },
      withRunnerNote(target, `Wrote ${written} bytes to the stdin of ${exec_id}${close ? " and closed it" : ""}.`),
    );
  });
}
