import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callTool, textOf } from "./mcp-client.js";

/** What exec_read calls returned from a cursor to the end of a process's output. */
export interface ExecReadsToEnd {
  stdout: string;
  stderr: string;
  droppedBytes: number;
  /** The last result's structured content (state, exit fields, next_cursor). */
  last: Record<string, unknown>;
  calls: number;
}

/**
 * Calls exec_read from `cursor` until eof, checking that each read starts where the previous one ended and returns
 * exactly the bytes between its cursor and next_cursor. Bounded by `maxCalls` and `deadlineMs`.
 */
export async function readExecToEnd(
  client: Client,
  args: { runner: string; exec_id: string; cursor: number; max_bytes?: number; wait_ms?: number },
  limits: { maxCalls: number; deadlineMs: number },
): Promise<ExecReadsToEnd> {
  const deadline = Date.now() + limits.deadlineMs;
  const out = { stdout: [] as string[], stderr: [] as string[], droppedBytes: 0 };
  let cursor = args.cursor;
  for (let calls = 1; calls <= limits.maxCalls && Date.now() < deadline; calls++) {
    const { result, structured } = await callTool(client, "exec_read", {
      ...args,
      cursor,
      wait_ms: args.wait_ms ?? 10_000,
    });
    if (result.isError) throw new Error(`exec_read failed: ${textOf(result)}`);
    const {
      stdout,
      stderr,
      next_cursor: next,
      dropped_bytes: dropped,
      eof,
    } = structured as { stdout: string; stderr: string; next_cursor: number; dropped_bytes: number; eof: boolean };
    if (structured.cursor !== cursor)
      throw new Error(`exec_read answered cursor ${String(structured.cursor)} to a read from ${cursor}`);
    const bytes = Buffer.byteLength(stdout) + Buffer.byteLength(stderr);
    if (cursor + dropped + bytes !== next)
      throw new Error(`exec_read from ${cursor} returned ${bytes} bytes (${dropped} dropped) but next_cursor ${next}`);
    out.stdout.push(stdout);
    out.stderr.push(stderr);
    out.droppedBytes += dropped;
    cursor = next;
    if (eof)
      return {
        stdout: out.stdout.join(""),
        stderr: out.stderr.join(""),
        droppedBytes: out.droppedBytes,
        last: structured,
        calls,
      };
  }
  throw new Error(
    `exec ${args.exec_id} did not reach eof within ${limits.maxCalls} reads or ${limits.deadlineMs} ms (cursor ${cursor})`,
  );
}
