import { createHash, randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, connectClient } from "../support/mcp-client.js";

const SESSIONS = 10;
const LINES = 3_000;

/** A progress notification as the client gets it, with the `_meta` the server set (the SDK type omits it). */
type StreamedProgress = Progress & { _meta?: Record<string, unknown> };

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** What session `k`'s command prints: numbered lines, paced in bursts so the output streams for a few seconds. */
function expectedOutput(k: number): string {
  return Array.from({ length: LINES }, (_, i) => `session-${k} line ${i + 1}\n`).join("");
}

describe(`${SESSIONS} concurrent MCP sessions streaming exec output`, () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-exec-sessions-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-exec-sessions-${suffix}`;
  let server: ControlPlaneProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    for (let k = 0; k < SESSIONS; k++) clients.push(await connectClient(server.url, token));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    const code = await server?.stop();
    await removeTestRunners([principal], network);
    expect(code).toBe(0);
  });

  it("delivers every byte of every session's output as progress notifications, in order", async () => {
    const runner = (await callTool(clients[0]!, "runner_spawn", {})).structured.runner_id as string;
    const runs = clients.map(async (client, k) => {
      const command = `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "session-${k} line $i"; if [ $((i % 300)) -eq 0 ]; then sleep 0.2; fi; done`;
      const progress: StreamedProgress[] = [];
      const result = (await client.callTool(
        { name: "exec", arguments: { runner, command, yield_ms: 120_000 } },
        undefined,
        {
          onprogress: (notification) => progress.push(notification as StreamedProgress),
          timeout: 150_000,
        },
      )) as CallToolResult;
      return { k, progress, structured: result.structuredContent as Record<string, unknown> };
    });
    for (const { k, progress, structured } of await Promise.all(runs)) {
      const expected = expectedOutput(k);
      expect(structured, `session ${k}`).toMatchObject({
        state: "exited",
        exit_code: 0,
        stderr: "",
        next_cursor: expected.length,
        omitted_bytes: 0,
      });
      expect(sha256(structured.stdout as string), `session ${k} result`).toBe(sha256(expected));
      const streamed = progress
        .filter((p) => p._meta?.["io.devhatchery/stream"] === "stdout")
        .map((p) => p.message ?? "");
      expect(streamed.length, `session ${k} notifications`).toBeGreaterThan(1);
      expect(streamed.length, `session ${k} stream markers`).toBe(progress.length);
      expect(sha256(streamed.join("")), `session ${k} progress`).toBe(sha256(expected));
      expect(progress.at(-1)?.progress, `session ${k} last progress`).toBe(expected.length);
    }
  });
});
