import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { describeExit, execExitFields, execIdArg, toExitFields } from "./exec-schemas.js";

const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 5 * 60 * 1000;
const DEFAULT_MAX_BYTES = 128 * 1024;
const MAX_MAX_BYTES = 1024 * 1024;

const TOOL = {
  title: "Read a command's output",
  description:
    "Read the output of a process started with exec, after a byte cursor. Pass the next_cursor of the previous exec or exec_read " +
    "result as `cursor`: every byte arrives exactly once, so nothing is lost or repeated between reads. When no output is there yet " +
    "and the process is running, the call waits up to wait_ms for some (long polling) and returns as soon as any arrives. " +
    "Output is split into stdout and stderr; run the command with 2>&1 when you need them interleaved in one stream. " +
    "eof true means the process has ended and everything was read. Cursor 0 reads from the start.",
  inputSchema: z.object({
    runner: runnerArg,
    exec_id: execIdArg,
    cursor: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("Byte position to read from: the next_cursor of the previous exec or exec_read result."),
    wait_ms: z
      .number()
      .int()
      .min(0)
      .max(MAX_WAIT_MS)
      .default(DEFAULT_WAIT_MS)
      .describe(
        `How long to wait for output while none is there and the process runs. Default ${DEFAULT_WAIT_MS}; 0 returns at once.`,
      ),
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .max(MAX_MAX_BYTES)
      .default(DEFAULT_MAX_BYTES)
      .describe(
        `At most this many bytes of output per call (default ${DEFAULT_MAX_BYTES}); read again from next_cursor for more.`,
      ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    exec_id: z.string(),
    state: z.enum(["running", "exited"]).describe("The process's state when the read returned."),
    ...execExitFields,
    stdout: z.string().describe("Standard output between cursor and next_cursor (UTF-8)."),
    stderr: z.string().describe("Standard error between cursor and next_cursor (UTF-8)."),
    cursor: z.number().int().describe("The cursor this read started at."),
    next_cursor: z.number().int().describe("Pass this as cursor to the next exec_read."),
    dropped_bytes: z
      .number()
      .int()
      .describe(
        "Bytes after cursor the runner no longer had: its output caps dropped the oldest output (per process, or the runner's total, where the oldest finished exec's output goes first); 0 when nothing was lost.",
      ),
    eof: z
      .boolean()
      .describe(
        "True when the process has ended and next_cursor is the end of its output: there is nothing more to read.",
      ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerExecReadTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "exec_read", TOOL, async ({ runner, exec_id, cursor, wait_ms, max_bytes }) => {
    const target = await canonicalRunner(deps, runner);
    const read = await deps.execs.read(deps.principal, target.id, exec_id, {
      cursor,
      maxBytes: max_bytes,
      waitMs: wait_ms,
    });
    const headline =
      `${read.exec.execId} ${read.eof ? `ended: ${describeExit(read.exec.exit)}` : read.exec.state}; bytes ${read.cursor}–${read.nextCursor}` +
      (read.droppedBytes ? ` (${read.droppedBytes} bytes dropped before them by the output cap)` : "") +
      (read.eof ? "; end of output" : `; continue with cursor=${read.nextCursor}`);
    return toolSuccess(
      {
        runner_id: target.id,
        exec_id: read.exec.execId,
        state: read.exec.state,
        ...toExitFields(read.exec.exit),
        stdout: read.stdout,
        stderr: read.stderr,
        cursor: read.cursor,
        next_cursor: read.nextCursor,
        dropped_bytes: read.droppedBytes,
        eof: read.eof,
      },
      withRunnerNote(target, headline) +
        (read.stdout ? `\n--- stdout ---\n${read.stdout}` : "") +
        (read.stderr ? `\n--- stderr ---\n${read.stderr}` : ""),
    );
  });
}
