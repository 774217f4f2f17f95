import { createHash } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startMcpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, summarize } from "../stats.ts";

const PAD = "x".repeat(80);

/** The exact text the command prints, so every session's stream can be checked byte for byte. */
function expectedOutput(lines: number): string {
  let text = "";
  for (let i = 0; i < lines; i++) text += `line ${String(i).padStart(6, "0")} ${PAD}\n`;
  return text;
}

interface SessionRun {
  firstMs: number;
  totalMs: number;
  bytes: number;
  intact: boolean;
}

async function streamOnce(client: Client, runner: string, lineCount: number, expectedSha: string): Promise<SessionRun> {
  const started = performance.now();
  let firstMs = Number.NaN;
  let text = "";
  await client.callTool(
    {
      name: "exec",
      arguments: {
        runner,
        yield_ms: 120_000,
        command: `awk 'BEGIN { for (i = 0; i < ${lineCount}; i++) printf "line %06d ${PAD}\\n", i }'`,
      },
    },
    undefined,
    {
      timeout: 180_000,
      onprogress: (progress) => {
        if (Number.isNaN(firstMs)) firstMs = performance.now() - started;
        text += progress.message ?? "";
      },
    },
  );
  return {
    firstMs,
    totalMs: performance.now() - started,
    bytes: Buffer.byteLength(text),
    intact: createHash("sha256").update(text).digest("hex") === expectedSha,
  };
}

/** N concurrent MCP sessions, each streaming one exec's output as progress notifications from one runner. */
export const mcpSessions: Scenario = {
  title: "Concurrent MCP sessions streaming exec",
  async run(options, signal) {
    // One principal holds every session of the largest group at once: above sessions.max_per_principal's default.
    const fixture = await startMcpFixture(process.env.BENCH_IMAGE ?? "devhatchery-test/runner:dev", "sessions", {
      DEVHATCHERY_MAX_SESSIONS_PER_PRINCIPAL: String(Math.max(...options.sessionCounts) * 2 + 10),
    });
    const lineCount = options.sessionLines;
    try {
      const runner = await fixture.spawnRunner();
      const expected = expectedOutput(lineCount);
      const expectedSha = createHash("sha256").update(expected).digest("hex");
      const rows: string[] = [];
      let allIntact = true;
      let largest = 0;
      for (const sessions of options.sessionCounts) {
        signal.throwIfAborted();
        const group = await Promise.all(Array.from({ length: sessions }, () => fixture.connect()));
        const started = performance.now();
        const runs = await Promise.all(group.map((client) => streamOnce(client, runner, lineCount, expectedSha)));
        const wallMs = performance.now() - started;
        const bytes = runs.reduce((sum, run) => sum + run.bytes, 0);
        const lost = sessions * Buffer.byteLength(expected) - bytes;
        const first = summarize(runs.map((run) => run.firstMs));
        const total = summarize(runs.map((run) => run.totalMs));
        const broken = runs.filter((run) => !run.intact).length;
        if (lost !== 0 || broken !== 0) allIntact = false;
        largest = Math.max(largest, sessions);
        rows.push(
          `| ${sessions} | ${(bytes / 1024 / 1024).toFixed(1)} MB | ${formatMs(wallMs)} | ${(bytes / 1024 / 1024 / (wallMs / 1000)).toFixed(1)} MB/s | ${formatMs(first.p50)} / ${formatMs(first.p95)} | ${formatMs(total.p50)} / ${formatMs(total.p95)} | ${lost} | ${broken} |`,
        );
        await Promise.all(group.map((client) => client.close()));
      }
      return {
        lines: [
          `One runner, each session runs one \`exec\` printing ${lineCount} lines (${(Buffer.byteLength(expected) / 1024).toFixed(0)} KiB) ` +
            "streamed as progress notifications; every session's stream is checked with sha256. No peer: `docker exec` has no " +
            "sessions to multiplex.",
          "",
          "| sessions | bytes streamed | wall time (ms) | aggregate throughput | first notification p50 / p95 (ms) | call time p50 / p95 (ms) | bytes lost | sessions with corrupted output |",
          "|---|---|---|---|---|---|---|---|",
          ...rows,
        ],
        goals: [
          {
            what: "concurrent sessions streaming exec",
            goal: "100 on 2 cores, no byte lost (floor: 10)",
            measured: `${largest} sessions, ${allIntact ? "no byte lost" : "bytes lost or corrupted"}`,
            met: allIntact && largest >= 100,
          },
        ],
      };
    } finally {
      await fixture.close();
    }
  },
};
