import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { createProgressReporter } from "../progress.js";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";

const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export function registerExecTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "exec",
    {
      title: "Run a command",
      description:
        "Run a command in a runner and wait for it to finish. Output is streamed as progress notifications while it runs " +
        "(when the call carries a progress token); the result has the exit code and the output. " +
        "A non-zero exit code is a normal result, not a tool error. Output beyond 256 KiB per stream is cut in the middle.",
      inputSchema: {
        runner: runnerArg,
        command: z
          .union([z.string().min(1), z.array(z.string()).min(1)])
          .describe('A shell command string run with `sh -lc`, e.g. "make test 2>&1 | tail -50", or an argv array run without a shell, e.g. ["ls", "-la"].'),
        cwd: z.string().optional().describe("Working directory; relative paths resolve against /work. Defaults to /work."),
        env: z.record(z.string(), z.string()).optional().describe('Extra environment variables, e.g. {"CI": "1"}.'),
        timeout_ms: z
          .number()
          .int()
          .min(1)
          .max(MAX_TIMEOUT_MS)
          .optional()
          .describe("Kill the process (SIGTERM, then SIGKILL) if it runs longer than this many milliseconds. Default: no limit."),
      },
      outputSchema: {
        exec_id: z.string().describe("The process's id inside the runner."),
        exit_code: z.number().int().nullable().describe("The exit code, or null when the process was ended by a signal."),
        signal: z.string().nullable().describe('The signal that ended the process, e.g. "SIGKILL", or null.'),
        reason: z
          .enum(["exited", "signaled", "timed_out", "interrupted", "oom_killed"])
          .describe("Why the process ended: on its own, by a signal, by timeout_ms, after an interrupt, or killed for using too much memory."),
        stdout: z.string().describe("Standard output (UTF-8; the middle is cut when longer than 256 KiB)."),
        stderr: z.string().describe("Standard error (UTF-8; the middle is cut when longer than 256 KiB)."),
        omitted_bytes: z.number().int().describe("Bytes cut from the middle of stdout and stderr together."),
        duration_ms: z.number().int().describe("How long the process ran."),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async ({ runner, command, cwd, env, timeout_ms }, extra) => {
      const report = createProgressReporter(extra);
      try {
        const result = await deps.execs.run(
          deps.principal,
          runner,
          { command, cwd, env, timeoutMs: timeout_ms },
          (chunk) => report(chunk.totalBytes, chunk.text, { "io.devhatchery/stream": chunk.stream }),
          extra.signal,
        );
        const ending = describeEnding(result.reason, result.exitCode, result.signal, timeout_ms);
        return toolSuccess(
          {
            exec_id: result.execId,
            exit_code: result.exitCode,
            signal: result.signal,
            reason: result.reason,
            stdout: result.stdout,
            stderr: result.stderr,
            omitted_bytes: result.omittedBytes,
            duration_ms: result.durationMs,
          },
          `${ending} (${result.durationMs} ms)` +
            (result.stdout ? `\n--- stdout ---\n${result.stdout}` : "") +
            (result.stderr ? `\n--- stderr ---\n${result.stderr}` : ""),
        );
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}

function describeEnding(reason: string, exitCode: number | null, signal: string | null, timeoutMs: number | undefined): string {
  switch (reason) {
    case "exited":
      return `exit code ${exitCode}`;
    case "timed_out":
      return `timed out after ${timeoutMs} ms`;
    case "oom_killed":
      return "killed for using too much memory (out of memory)";
    case "interrupted":
      return `interrupted (${signal ? `ended by ${signal}` : `exit code ${exitCode}`})`;
    default:
      return `killed by ${signal}`;
  }
}
