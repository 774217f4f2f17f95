// N concurrent MCP sessions each streaming one exec's output as progress notifications, against the real
// control plane process and one real runner: throughput, time to first notification, and bytes lost (must be 0).
// Usage: npm run bench:sessions   (BENCH_SESSIONS="10,50,100", BENCH_LINES=<lines per exec>, BENCH_IMAGE, BENCH_OUTPUT)
import { createHash, randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { removeTestRunners } from "../control-plane/test/docker-cleanup.ts";
import { startControlPlane } from "../test/support/control-plane-process.ts";
import { connectClient } from "../test/support/mcp-client.ts";
import { describeMachine } from "./machine.ts";
import { writeBenchSection } from "./report.ts";
import { formatMs, summarize } from "./stats.ts";

const sessionCounts = (process.env.BENCH_SESSIONS ?? "10,50,100").split(",").map(Number);
const lineCount = Number(process.env.BENCH_LINES ?? 2000);
const image = process.env.BENCH_IMAGE ?? "devhatchery-test/runner:dev";
const output = process.env.BENCH_OUTPUT ?? "docs/benchmarks.md";
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

async function streamOnce(client: Client, runner: string, expectedSha: string): Promise<SessionRun> {
  const started = performance.now();
  let firstMs = Number.NaN;
  let text = "";
  await client.callTool(
    { name: "exec", arguments: { runner, yield_ms: 120_000, command: `awk 'BEGIN { for (i = 0; i < ${lineCount}; i++) printf "line %06d ${PAD}\\n", i }'` } },
    undefined,
    {
      timeout: 180_000,
      onprogress: (progress) => {
        if (Number.isNaN(firstMs)) firstMs = performance.now() - started;
        text += progress.message ?? "";
      },
    },
  );
  return { firstMs, totalMs: performance.now() - started, bytes: Buffer.byteLength(text), intact: createHash("sha256").update(text).digest("hex") === expectedSha };
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString("hex");
  const principal = `bench-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-bench-${suffix}`;
  const server = await startControlPlane({ DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`, DEVHATCHERY_RUNNER_NETWORK: network, DEVHATCHERY_DEFAULT_IMAGE: image, DEVHATCHERY_LOG_LEVEL: "warn" });
  const clients: Client[] = [];
  try {
    const setup = await connectClient(server.url, token);
    clients.push(setup);
    const spawned = await setup.callTool({ name: "runner_spawn", arguments: {} }, undefined, { timeout: 120_000 });
    const runner = (spawned.structuredContent as { runner_id: string }).runner_id;
    const expected = expectedOutput(lineCount);
    const expectedSha = createHash("sha256").update(expected).digest("hex");
    const rows: string[] = [];
    for (const sessions of sessionCounts) {
      process.stderr.write(`bench: ${sessions} sessions × ${lineCount} lines\n`);
      const group = await Promise.all(Array.from({ length: sessions }, () => connectClient(server.url, token)));
      clients.push(...group);
      const started = performance.now();
      const runs = await Promise.all(group.map((client) => streamOnce(client, runner, expectedSha)));
      const wallMs = performance.now() - started;
      const bytes = runs.reduce((sum, run) => sum + run.bytes, 0);
      const lost = sessions * Buffer.byteLength(expected) - bytes;
      const first = summarize(runs.map((run) => run.firstMs));
      const total = summarize(runs.map((run) => run.totalMs));
      const broken = runs.filter((run) => !run.intact).length;
      rows.push(
        `| ${sessions} | ${(bytes / 1024 / 1024).toFixed(1)} MB | ${formatMs(wallMs)} | ${(bytes / 1024 / 1024 / (wallMs / 1000)).toFixed(1)} MB/s | ${formatMs(first.p50)} / ${formatMs(first.p95)} | ${formatMs(total.p50)} / ${formatMs(total.p95)} | ${lost} | ${broken} |`,
      );
      await Promise.all(group.map((client) => client.close()));
    }
    const docker = (await import("dockerode")).default;
    const version = (await new docker().version()).Version;
    const lines = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${describeMachine(version)}; one runner (\`${image}\`), each session runs one \`exec\` printing ${lineCount} lines (${(Buffer.byteLength(expected) / 1024).toFixed(0)} KiB) streamed as progress notifications; every session's stream is checked with sha256.`,
      "",
      "| sessions | bytes streamed | wall time (ms) | aggregate throughput | first notification p50 / p95 (ms) | call time p50 / p95 (ms) | bytes lost | sessions with corrupted output |",
      "|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
      "Floor: 10 concurrent sessions streaming exec; goal: 100 on 2 cores with no byte lost.",
    ];
    await writeBenchSection(output, "MCP sessions streaming exec", "npm run bench:sessions", lines);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await server.stop();
    await removeTestRunners([principal], network);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
