import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, connectClient, textOf } from "../support/mcp-client.js";
import { openRawMcpSession, readSseMessages } from "../support/raw-mcp.js";

/** `yes` output: "y\n" repeated, so any byte's value follows from its cursor. */
const OUTPUT_BYTES = 200_000_000;
/** What the control plane may grow by while a client does not read a stream carrying all of that output. */
const RSS_BOUND_BYTES = 200 * 1024 * 1024;
/**
 * What the stream may still carry when the client reads again: the control plane's own backlog (1 MiB) plus what the
 * kernel buffers on the loopback connection, whose limits are the machine's (tcp_rmem may let a receive buffer grow
 * to 32 MiB), plus slack. Still a small part of the 200 MB of output, which the client only gets by exec_read.
 */
async function queuedBoundBytes(): Promise<number> {
  const maxOf = async (file: string): Promise<number> =>
    Number((await readFile(file, "utf8")).trim().split(/\s+/).at(-1));
  const kernel = (await maxOf("/proc/sys/net/ipv4/tcp_rmem")) + (await maxOf("/proc/sys/net/ipv4/tcp_wmem"));
  return 1024 * 1024 + kernel + 8 * 1024 * 1024;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Whether `text`, read from `cursor` of "y\n" repeated, is exactly that output. */
function isYesOutput(text: string, cursor: number): boolean {
  const aligned = cursor % 2 === 1 ? text.slice(1) : text;
  if (cursor % 2 === 1 && !text.startsWith("\n")) return false;
  return /^(y\n)*y?$/.test(aligned);
}

describe("exec progress never buffers without bound for a client that stops reading", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-backpressure-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-backpressure-${suffix}`;
  let server: ControlPlaneProcess;
  let client: Client;
  let paused: IncomingMessage | undefined;

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    client = await connectClient(server.url, token);
  });

  afterAll(async () => {
    paused?.destroy();
    await client?.close();
    await server?.stop();
    await removeTestRunners([principal], network);
  });

  it("skips output progress while the stream is full, says from which cursor, and exec_read returns every byte", async () => {
    const spawned = await callTool(client, "runner_spawn", {});
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    const runner = spawned.structured.runner_id as string;
    const raw = await openRawMcpSession(server.url, token);
    const baseline = await rssBytes(server.pid);

    const command = `yes | head -c ${OUTPUT_BYTES}`;
    const call = {
      name: "exec",
      arguments: { runner, command, yield_ms: 280_000 },
      _meta: { progressToken: "slow-reader" },
    };
    const response = await raw.post({ jsonrpc: "2.0", id: 1, method: "tools/call", params: call });
    paused = response;
    response.pause(); // the client stops reading: the socket's buffers fill and the control plane must hold back
    expect(response.statusCode).toBe(200);

    let peak = baseline;
    let state: string | undefined;
    const deadline = Date.now() + 240_000;
    while (state !== "exited" && Date.now() < deadline) {
      peak = Math.max(peak, await rssBytes(server.pid));
      const listed = (await callTool(client, "exec_list", { runner })).structured.execs as {
        command: string;
        state: string;
      }[];
      state = listed.find((exec) => exec.command === command)?.state;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    peak = Math.max(peak, await rssBytes(server.pid));
    expect(state).toBe("exited");
    console.log(
      `control plane RSS: ${Math.round(baseline / 2 ** 20)} MiB before, at most ${Math.round(peak / 2 ** 20)} MiB while the client did not read`,
    );
    expect(peak - baseline, `RSS grew from ${baseline} to ${peak} bytes`).toBeLessThan(RSS_BOUND_BYTES);

    // The client reads again: what was sent, plus notices naming the cursors of what was skipped, then the result.
    response.resume();
    const messages = await readSseMessages(response);
    paused = undefined;
    // Everything read after resuming waited in the control plane (or the socket's buffers): a bounded amount, not the output.
    const queuedBound = await queuedBoundBytes();
    expect(queuedBound).toBeLessThan(OUTPUT_BYTES / 4);
    expect(JSON.stringify(messages).length).toBeLessThan(queuedBound);
    const result = messages.find((message) => message.id === 1)?.result as
      { structuredContent: Record<string, unknown> } | undefined;
    expect(result?.structuredContent).toMatchObject({ state: "exited", exit_code: 0, next_cursor: OUTPUT_BYTES });
    const execId = result!.structuredContent.exec_id as string;
    const progress = messages
      .filter((message) => message.method === "notifications/progress")
      .map((message) => message.params as { progress: number; message: string; _meta: Record<string, unknown> });

    const ranges: { from: number; to: number; text?: string }[] = [];
    for (const note of progress) {
      const skipped = note._meta["io.devhatchery/skipped"] as
        { exec_id: string; cursor: number; bytes: number } | undefined;
      if (skipped) {
        expect(skipped.exec_id).toBe(execId);
        expect(note.message).toContain(`read them with exec_read exec_id=${execId} cursor=${skipped.cursor}`);
        ranges.push({ from: skipped.cursor, to: skipped.cursor + skipped.bytes });
      } else {
        ranges.push({ from: note.progress - Buffer.byteLength(note.message), to: note.progress, text: note.message });
      }
    }
    const skippedRanges = ranges.filter((range) => range.text === undefined);
    expect(skippedRanges.length).toBeGreaterThan(0);
    // Sent and skipped output together cover every byte once, in order.
    let covered = 0;
    for (const range of ranges) {
      expect(range.from).toBe(covered);
      if (range.text !== undefined) expect(isYesOutput(range.text, range.from)).toBe(true);
      covered = range.to;
    }
    expect(covered).toBe(OUTPUT_BYTES);

    let readBytes = 0;
    let calls = 0;
    for (const range of skippedRanges) {
      for (let cursor = range.from; cursor < range.to && calls < 1000; calls++) {
        const read = await callTool(client, "exec_read", {
          runner,
          exec_id: execId,
          cursor,
          max_bytes: Math.min(1024 * 1024, range.to - cursor),
          wait_ms: 0,
        });
        expect(read.result.isError, textOf(read.result)).toBeFalsy();
        const stdout = read.structured.stdout as string;
        expect(read.structured.dropped_bytes).toBe(0);
        expect(isYesOutput(stdout, cursor)).toBe(true);
        readBytes += stdout.length;
        cursor = read.structured.next_cursor as number;
      }
    }
    expect(readBytes).toBe(skippedRanges.reduce((sum, range) => sum + range.to - range.from, 0));
  }, 600_000);
});
