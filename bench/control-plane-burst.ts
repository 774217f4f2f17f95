// Does the control plane return to its idle memory after a burst? Starts the built control plane as its own process,
// spawns one runner, then streams a large exec output (default 50 MB) to an MCP client that reads every progress
// notification, and samples the control plane's RSS: idle before, right after, and while it sits idle afterwards.
// With BENCH_SNAPSHOTS=1 it also has the control plane write heap snapshots (SIGUSR2) before and after and lists
// what grew by self size (a snapshot forces a full GC and inflates RSS, so measure RSS in a run without them).
// Usage: npm run build && node bench/control-plane-burst.ts
//        (BENCH_OUTPUT_BYTES=<bytes, 50000000>, BENCH_BURSTS=<bursts in a row, 1>, BENCH_WAIT_S=<seconds idle after, 60>,
//         BENCH_SNAPSHOTS=1)
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { removeTestRunners } from "../control-plane/test/docker-cleanup.ts";
import { startControlPlane } from "../test/support/control-plane-process.ts";
import { connectClient } from "../test/support/mcp-client.ts";
import { sizeByConstructor } from "./heap-snapshot-counts.ts";
import { formatMb, readRssBytes } from "./process-memory.ts";

const OUTPUT_BYTES = Number(process.env.BENCH_OUTPUT_BYTES ?? 50_000_000);
const WAIT_S = Number(process.env.BENCH_WAIT_S ?? 60);
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS === "1";
const BURSTS = Number(process.env.BENCH_BURSTS ?? 1);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function snapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(await readdir(dir));
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const added = (await readdir(dir)).find((name) => !before.has(name) && name.endsWith(".heapsnapshot"));
    // Written in one go after a full GC; wait a little more so the file is complete.
    if (added) return (await sleep(5_000), join(dir, added));
  }
  throw new Error(`No heap snapshot appeared in ${dir} within 5 minutes of SIGUSR2 to ${pid}.`);
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString("hex");
  const principal = `bench-burst-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-bench-burst-${suffix}`;
  const diagnostics = await mkdtemp(join(tmpdir(), "devhatchery-bench-burst-"));
  const server = await startControlPlane({
    DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
    DEVHATCHERY_RUNNER_NETWORK: network,
    ...(SNAPSHOTS ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diagnostics}` } : {}),
  });
  const rows: string[] = [];
  const record = async (step: string): Promise<void> => {
    rows.push(`| ${step} | ${formatMb(await readRssBytes(server.pid))} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  };
  const client = await connectClient(server.url, token);
  try {
    const spawned = (await client.callTool({ name: "runner_spawn", arguments: {} })) as CallToolResult;
    const runner = (spawned.structuredContent as { runner_id: string }).runner_id;
    await client.callTool({ name: "exec", arguments: { runner, command: "yes | head -c 100000" } }, undefined, {
      onprogress: () => undefined,
    });
    await sleep(5_000);
    await record("idle, one runner, one session");
    const before = SNAPSHOTS ? await snapshot(server.pid, diagnostics) : undefined;
    for (let burst = 1; burst <= BURSTS; burst++) {
      let notified = 0;
      const started = Date.now();
      await client.callTool(
        { name: "exec", arguments: { runner, command: `yes | head -c ${OUTPUT_BYTES}`, yield_ms: 300_000 } },
        undefined,
        {
          timeout: 300_000,
          onprogress: (progress) => void (notified += progress.message?.length ?? 0),
        },
      );
      await record(
        `right after burst ${burst}: ${OUTPUT_BYTES} bytes streamed (${notified} as progress, ${Date.now() - started} ms)`,
      );
    }
    for (let waited = 0; waited < WAIT_S;) {
      const step = Math.min(WAIT_S - waited, waited < 10 ? 10 : 30);
      await sleep(step * 1000);
      waited += step;
      await record(`${waited} s later, idle`);
    }
    if (before) {
      const after = await snapshot(server.pid, diagnostics);
      await record("after a heap snapshot (a full GC)");
      const [first, last] = [await sizeByConstructor(before), await sizeByConstructor(after)];
      const growth = [...last]
        .map(([name, bytes]) => ({ name, growth: bytes - (first.get(name) ?? 0) }))
        .sort((a, b) => b.growth - a.growth)
        .slice(0, 15);
      rows.push(
        "",
        "| grew in the heap (self size) | bytes |",
        "|---|---|",
        ...growth.map((row) => `| ${row.name} | ${row.growth} |`),
      );
    }
  } finally {
    await client.close().catch(() => undefined);
    await server.stop();
    await removeTestRunners([principal], network);
    await rm(diagnostics, { recursive: true, force: true });
  }
  process.stdout.write(["| control plane process | RSS |", "|---|---|", ...rows].join("\n") + "\n");
}

await main();
