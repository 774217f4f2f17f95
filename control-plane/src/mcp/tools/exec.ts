import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { RESULT_OUTPUT_CAP_BYTES } from "../../runners/exec/exec-service.js";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { createOutputProgress } from "../exec-progress.js";
import { describeExit, execExitFields, toExitFields } from "./exec-schemas.js";

const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_YIELD_MS = 10_000;
export const MAX_YIELD_MS = 5 * 60 * 1000;

const TOOL = {
  title: "Run a command",
  description:
    `Run a command in a runner. The call waits up to yield_ms (default ${DEFAULT_YIELD_MS / 1000} s) while output is streamed as progress notifications ` +
    "(when the call carries a progress token; while the client reads them more slowly than output arrives, output is skipped and one notification names the exec_read cursor that returns it). If the process ends in that time, the result has its exit code and output " +
    "(a non-zero exit code is a normal result, not a tool error). Otherwise the process keeps running and the result has " +
    'state "running", its exec_id, the output so far and next_cursor: continue with exec_read (exec_write feeds stdin, exec_signal stops it). ' +
    `Output beyond ${RESULT_OUTPUT_CAP_BYTES / 1024} KiB per stream is cut in the middle with a marker naming the exec_read cursor that returns the rest. ` +
    "Cancelling the call interrupts the process (SIGINT, then SIGTERM, then SIGKILL).",
  inputSchema: z.object({
    runner: runnerArg,
    command: z
      .union([z.string().min(1), z.array(z.string()).min(1)])
      .describe(
        'A shell command string run with `sh -lc`, e.g. "make test 2>&1 | tail -50", or an argv array run without a shell, e.g. ["ls", "-la"].',
      ),
    cwd: z
      .string()
      .optional()
      .describe(
        "Working directory; relative paths resolve against your first root folder in this runner, else /work. Defaults to that folder.",
      ),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables, e.g. {"CI": "1"}.'),
    stdin: z
      .string()
      .optional()
      .describe("Text written to the process's stdin first; stdin is then closed unless stdin_open is true."),
    stdin_open: z
      .boolean()
      .default(false)
      .describe(
        "Keep stdin open after `stdin` so exec_write can send more (for interactive programs). Default false: the program sees end of file.",
      ),
    pty: z
      .boolean()
      .default(false)
      .describe(
        "Run on a pseudo-terminal (like `docker exec -t`): for programs that need a terminal (editors, REPLs, progress bars, `sudo`, colour). " +
          "Output then arrives as one stream (stdout, terminal escapes included), TERM is xterm-256color, and stdin stays open for exec_write " +
          '(closing it types Ctrl-D; "\u0003" types Ctrl-C). Resize it with exec_resize.',
      ),
    cols: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(80)
      .describe("With pty: the terminal's width in columns (default 80)."),
    rows: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(24)
      .describe("With pty: the terminal's height in rows (default 24)."),
    timeout_ms: z
      .number()
      .int()
      .min(1)
      .max(MAX_TIMEOUT_MS)
      .optional()
      .describe(
        "Kill the process (SIGTERM, then SIGKILL) if it runs longer than this many milliseconds. Default: no limit.",
      ),
    yield_ms: z
      .number()
      .int()
      .min(0)
      .max(MAX_YIELD_MS)
      .default(DEFAULT_YIELD_MS)
      .describe(
        `How long this call waits for the process to end before returning it still running (it keeps running). Default ${DEFAULT_YIELD_MS}, at most ${MAX_YIELD_MS}.`,
      ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    exec_id: z.string().describe("The process's id in the runner; pass it to exec_read, exec_write and exec_signal."),
    state: z.enum(["running", "exited"]).describe('"exited" when the process ended within yield_ms, else "running".'),
    ...execExitFields,
    stdout: z
      .string()
      .describe(
        `Standard output so far (UTF-8; the middle is cut when longer than ${RESULT_OUTPUT_CAP_BYTES / 1024} KiB).`,
      ),
    stderr: z
      .string()
      .describe(
        `Standard error so far (UTF-8; the middle is cut when longer than ${RESULT_OUTPUT_CAP_BYTES / 1024} KiB).`,
      ),
    omitted_bytes: z
      .number()
      .int()
      .describe(
        "Bytes cut from the middle of stdout and stderr together; the markers say which exec_read cursor returns them.",
      ),
    dropped_bytes: z
      .number()
      .int()
      .describe(
        "Bytes the runner no longer kept (its output caps, per process and per runner) before they could be returned.",
      ),
    next_cursor: z
      .number()
      .int()
      .describe("Byte position after the output above; exec_read from here returns what comes next."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
};

export function registerExecTool(server: McpServer, deps: ToolDeps): void {
  registerTool(
    server,
    "exec",
    TOOL,
    async ({ runner, command, cwd, env, stdin, stdin_open, pty, cols, rows, timeout_ms, yield_ms }, extra) => {
      const progress = createOutputProgress(extra);
      const start = async () => {
        const target = await canonicalRunner(deps, runner);
        const outcome = await deps.execs.start(
          deps.principal,
          target.id,
          {
            command,
            cwd: await deps.roots.resolvePath(target.id, cwd ?? ".", extra),
            env,
            stdin,
            stdinOpen: stdin_open || pty,
            pty: pty ? { rows, cols } : undefined,
            timeoutMs: timeout_ms,
          },
          { yieldMs: yield_ms, onOutput: (chunk) => progress.report(chunk), signal: extra.signal },
        );
        return { target, outcome };
      };
      // Every output notification goes out before the result, also when the call fails.
      const { target, outcome } = await start().finally(() => progress.flush());
      const headline =
        outcome.state === "running"
          ? `still running as ${outcome.execId} after ${yield_ms} ms; continue with exec_read exec_id=${outcome.execId} cursor=${outcome.nextCursor}`
          : `${describeExit(outcome.exit)} (${outcome.exit?.durationMs} ms)`;
      return toolSuccess(
        {
          runner_id: target.id,
          exec_id: outcome.execId,
          state: outcome.state,
          ...toExitFields(outcome.exit),
          stdout: outcome.stdout,
          stderr: outcome.stderr,
          omitted_bytes: outcome.omittedBytes,
          dropped_bytes: outcome.droppedBytes,
          next_cursor: outcome.nextCursor,
        },
        withRunnerNote(target, headline) +
          (outcome.stdout ? `\n--- stdout ---\n${outcome.stdout}` : "") +
          (outcome.stderr ? `\n--- stderr ---\n${outcome.stderr}` : ""),
      );
    },
  );
}
