// Does the control plane give memory back? Runs the built control plane in this process (real HTTP, MCP SDK clients,
// Docker, runners), then repeats a cycle: spawn N runners, use each one from its own short session (exec, exec_read,
// fs_write/read/list, fs_watch/fs_changes, resource subscriptions left open, runner_stop and runner_attach; half the
// sessions end with DELETE, half are abandoned and expire), kill every other runner's container behind the control
// plane's back (its agent dies), remove them all, and send initialize requests the transport refuses (no SSE in
// Accept: 406), as a misconfigured client would. After each step it forces GC and records heap used and RSS; heap
// snapshots after an early and the last cycle are compared by constructor, so what cycles leave behind shows up by name.
// Usage: npm run build && node --expose-gc bench/control-plane-memory.ts
//        (BENCH_RUNNERS=<runners per cycle, 20>, BENCH_CYCLES=<cycles, 3>, BENCH_IMAGE=<runner image>,
//         BENCH_SNAPSHOTS=<folder>: write heap snapshots there and compare them; a snapshot inflates RSS for good, so
//         measure RSS in a run without them)
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { serve } from "@hono/node-server";
import Docker from "dockerode";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../control-plane/dist/config/load-config.js";
import { createControlPlane } from "../control-plane/dist/control-plane.js";
import { createLogger } from "../control-plane/dist/log.js";
import { removeTestRunners } from "../control-plane/test/docker-cleanup.ts";
import { connectClient } from "../test/support/mcp-client.ts";
import { countByConstructor, topGrowth } from "./heap-snapshot-counts.ts";
import { formatMb } from "./process-memory.ts";

const RUNNERS = Number(process.env.BENCH_RUNNERS ?? 20);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 3);
const IMAGE = process.env.BENCH_IMAGE ?? "devhatchery-test/runner:dev";
const CONCURRENCY = 5;
const SETTLE_MS = 1_000;
/** Initialize requests refused per cycle (each one built a whole MCP server before the transport said 406). */
const REFUSED_INITIALIZES = 200;
/** Abandoned sessions expire after this; the sweeper looks every quarter of it. */
const SESSION_IDLE_TIMEOUT_MS = 2_000;
const SNAPSHOT_DIR = process.env.BENCH_SNAPSHOTS;
/** The first snapshot comes after the second cycle when there are three or more: the first one warms caches up. */
const FIRST_SNAPSHOT_CYCLE = CYCLES >= 3 ? 2 : 1;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with node --expose-gc: the measurements need forced garbage collections.");

type Call = (tool: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

function caller(client: Client): Call {
  return async (tool, args) => {
    const result = (await client.callTool({ name: tool, arguments: args }, undefined, {
      timeout: 120_000,
    })) as CallToolResult;
    if (result.isError)
      throw new Error(
        `${tool} failed: ${result.content.map((item) => (item.type === "text" ? item.text : item.type)).join(" ")}`,
      );
    return (result.structuredContent ?? {}) as Record<string, unknown>;
  };
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) await Promise.all(items.slice(i, i + CONCURRENCY).map(work));
}

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage();
}

/** Everything a client does with one runner, from a session of its own that it leaves without unsubscribing. */
async function useRunner(url: string, token: string, runnerId: string, abandon: boolean): Promise<void> {
  const client = await connectClient(url, token);
  try {
    const call = caller(client);
    await call("exec", { runner: runnerId, command: "echo hello; echo oops >&2" });
    const running = await call("exec", { runner: runnerId, command: "sleep 0.3; echo later", yield_ms: 0 });
    await call("exec_read", { runner: runnerId, exec_id: running.exec_id, cursor: 0, wait_ms: 2_000 });
    await call("fs_write", { runner: runnerId, path: "/work/notes.txt", content: "x".repeat(4096) });
    await call("fs_read", { runner: runnerId, path: "/work/notes.txt" });
    await call("fs_list", { runner: runnerId, path: "/work" });
    const watch = await call("fs_watch", { runner: runnerId, path: "/work" });
    await call("fs_write", { runner: runnerId, path: "/work/watched.txt", content: "changed" });
    await call("fs_changes", { runner: runnerId, watch_id: watch.watch_id, cursor: watch.cursor, wait_ms: 1_000 });
    await client.subscribeResource({ uri: `devhatchery://runners/${runnerId}` });
    await client.subscribeResource({ uri: `devhatchery://runners/${runnerId}/files/work/notes.txt` });
    const follow = await call("exec", { runner: runnerId, command: "sleep 30", yield_ms: 0 });
    await client.subscribeResource({ uri: `devhatchery://runners/${runnerId}/execs/${String(follow.exec_id)}/output` });
    await call("runner_stop", { runner: runnerId });
    await call("runner_attach", { runner: runnerId });
    await call("exec", { runner: runnerId, command: "true" });
  } finally {
    // DELETE /mcp, as a client that ends its session does; an abandoned one is left to expire.
    if (!abandon) await (client.transport as StreamableHTTPClientTransport).terminateSession().catch(() => undefined);
    await client.close();
  }
}

/** An initialize POST without text/event-stream in Accept: the transport answers 406 and no session is made. */
async function refusedInitialize(url: string, token: string): Promise<void> {
  const initialize = {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  };
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" };
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(initialize) });
  await response.arrayBuffer();
  if (response.status !== 406)
    throw new Error(`An initialize without text/event-stream in Accept was answered ${response.status}, not 406.`);
}

async function killContainer(docker: Docker, runnerId: string): Promise<void> {
  const [found] = await docker.listContainers({ filters: { label: [`io.devhatchery.runner=${runnerId}`] } });
  if (!found)
    throw new Error(
      `No running container labelled io.devhatchery.runner=${runnerId}; did runner_attach start "${runnerId}" again?`,
    );
  await docker.getContainer(found.Id).kill();
}

async function main(): Promise<void> {
  const docker = new Docker();
  const suffix = randomBytes(4).toString("hex");
  const principal = `bench-memory-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-bench-memory-${suffix}`;
  const stateDir = await mkdtemp(join(tmpdir(), "devhatchery-bench-memory-"));
  const config = loadConfig({
    DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
    DEVHATCHERY_RUNNER_NETWORK: network,
    DEVHATCHERY_DEFAULT_IMAGE: IMAGE,
    DEVHATCHERY_STATE_DIR: stateDir,
    DEVHATCHERY_LISTEN_PORT: "0",
    DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS: String(SESSION_IDLE_TIMEOUT_MS),
    HOME: process.env.HOME ?? tmpdir(),
  });
  const controlPlane = createControlPlane(
    config,
    createLogger("warn", createWriteStream(join(stateDir, "control-plane.log"))),
  );
  const server = serve({ fetch: controlPlane.app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/mcp`;
  const rows: string[] = [];
  const record = async (step: string): Promise<void> => {
    const memory = await settledMemory();
    rows.push(
      `| ${step} | ${formatMb(memory.heapUsed)} | ${formatMb(memory.heapTotal)} | ${formatMb(memory.external)} | ${formatMb(memory.rss)} |`,
    );
    process.stderr.write(`${rows.at(-1)}\n`);
  };
  // One session stays open the whole run (as a client that keeps its session would): per-session state shows up.
  const main = await connectClient(url, token);
  const call = caller(main);
  const snapshots: string[] = [];
  try {
    await call("runner_list", {});
    await record("started, one session");
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const runners: string[] = [];
      await inBatches(
        Array.from({ length: RUNNERS }, (_, i) => i),
        async () => runners.push((await call("runner_spawn", { image: IMAGE })).runner_id as string),
      );
      await record(`cycle ${cycle}: ${RUNNERS} runners ready`);
      await inBatches(runners, (runnerId) => useRunner(url, token, runnerId, runners.indexOf(runnerId) % 2 === 1));
      await new Promise((resolve) => setTimeout(resolve, SESSION_IDLE_TIMEOUT_MS));
      await record(`cycle ${cycle}: each used from its own session (ended or expired)`);
      await inBatches(
        runners.filter((_, i) => i % 2 === 0),
        (runnerId) => killContainer(docker, runnerId),
      );
      await record(`cycle ${cycle}: every other runner's agent killed`);
      await inBatches(runners, (runnerId) => call("runner_remove", { runner: runnerId, remove_volume: true }));
      await record(`cycle ${cycle}: runners removed`);
      for (let i = 0; i < REFUSED_INITIALIZES; i++) await refusedInitialize(url, token);
      await record(`cycle ${cycle}: ${REFUSED_INITIALIZES} initializes refused (406)`);
      if (SNAPSHOT_DIR && (cycle === FIRST_SNAPSHOT_CYCLE || cycle === CYCLES))
        snapshots.push(writeHeapSnapshot(join(SNAPSHOT_DIR, `cycle-${cycle}.heapsnapshot`)));
    }
  } finally {
    await main.close().catch(() => undefined);
    await controlPlane.close();
    server.close();
    await removeTestRunners([principal], network);
    await rm(stateDir, { recursive: true, force: true });
  }
  const lines = [
    `Control plane in-process, ${RUNNERS} runners per cycle (${IMAGE}), ${CONCURRENCY} at a time; GC forced ${SETTLE_MS / 1000} s after each step.`,
    "",
    "| step | heap used | heap total | external | RSS |",
    "|---|---|---|---|---|",
    ...rows,
  ];
  if (snapshots.length === 2) {
    // One after the other: a leaking process writes snapshots of hundreds of MB.
    const first = await countByConstructor(snapshots[0]!);
    const last = await countByConstructor(snapshots[1]!);
    lines.push(
      "",
      `Objects that grew from cycle ${FIRST_SNAPSHOT_CYCLE} to cycle ${CYCLES} (heap snapshots at the end of each):`,
      "",
      `| constructor | after cycle ${FIRST_SNAPSHOT_CYCLE} | after cycle ${CYCLES} | growth |`,
      "|---|---|---|---|",
    );
    for (const row of topGrowth(first, last, 25))
      lines.push(`| ${row.name} | ${row.before} | ${row.after} | +${row.after - row.before} |`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
