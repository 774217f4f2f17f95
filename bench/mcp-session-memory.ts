// What one idle MCP session costs the control plane: runs the built control plane in this process (real HTTP; no
// runner is spawned) and has a child process (mcp-session-clients.ts, so client memory is not counted) open MCP SDK
// sessions and keep them open: SESSIONS with initialize only, SESSIONS more (the growth over these, divided by
// SESSIONS, is the cost of a session, free of one-off warm-up), then one tools/list in each (what a session keeps of
// the answer, e.g. for resumable streams). Heap snapshots over the second step are compared by constructor, so what
// each session's server holds shows up by name (zod schemas, closures, SDK objects).
// Usage: npm run build && node --expose-gc bench/mcp-session-memory.ts   (BENCH_SESSIONS=<sessions per step, 50>)
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { serve } from "@hono/node-server";
import { loadConfig } from "../control-plane/dist/config/load-config.js";
import { createControlPlane } from "../control-plane/dist/control-plane.js";
import { createLogger } from "../control-plane/dist/log.js";
import { countByConstructor, topGrowth } from "./heap-snapshot-counts.ts";
import type { ClientsRequest } from "./mcp-session-clients.ts";
import { formatMb } from "./process-memory.ts";

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50);
const SETTLE_MS = 500;
const TOP_CONSTRUCTORS = 15;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with node --expose-gc: the measurement needs forced garbage collections.");

/**
 * Heap used after a heap snapshot (written to `dir`) and forced GCs. The snapshot comes first: writing one drops caches
 * (compiled code and the like) that would otherwise count as session memory, or hide it.
 */
async function measure(dir: string, name: string): Promise<{ heapUsed: number; snapshot: string }> {
  const snapshot = writeHeapSnapshot(join(dir, `${name}.heapsnapshot`));
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { heapUsed: process.memoryUsage().heapUsed, snapshot };
}

const CLIENTS_SCRIPT = new URL("./mcp-session-clients.ts", import.meta.url).pathname;

/** Sends `request` to the client process and waits for its answer. */
function ask(clients: ChildProcess, request: ClientsRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(
        new Error(`The client process exited with code ${code} on ${JSON.stringify(request)}; see its output above.`),
      );
    clients.once("exit", onExit);
    clients.once("message", () => {
      clients.off("exit", onExit);
      resolve();
    });
    clients.send(request);
  });
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString("hex");
  const principal = `bench-session-memory-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const workDir = await mkdtemp(join(tmpdir(), "devhatchery-bench-session-memory-"));
  const config = loadConfig({
    DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
    DEVHATCHERY_RUNNER_NETWORK: `devhatchery-bench-session-memory-${suffix}`,
    DEVHATCHERY_STATE_DIR: join(workDir, "state"),
    DEVHATCHERY_LISTEN_PORT: "0",
    HOME: process.env.HOME ?? tmpdir(),
  });
  const controlPlane = createControlPlane(
    config,
    createLogger("warn", createWriteStream(join(workDir, "control-plane.log"))),
  );
  const server = serve({ fetch: controlPlane.app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/mcp`;
  const clients = fork(CLIENTS_SCRIPT, [url, token], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    // A first session loads every module and warms the SDK's caches; it stays open and is not counted.
    await ask(clients, { open: 1 });
    await ask(clients, { listTools: true });
    const first = await measure(workDir, "first");
    await ask(clients, { open: SESSIONS });
    const second = await measure(workDir, "second");
    await ask(clients, { open: SESSIONS });
    const third = await measure(workDir, "third");
    await ask(clients, { listTools: true });
    const listed = await measure(workDir, "listed");
    const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
    const lines = [
      `Control plane in-process, MCP sessions opened one after the other and kept open; heap used after a heap snapshot and forced GC.`,
      "",
      "| step | heap used | per session |",
      "|---|---|---|",
      `| 1 warm-up session (with tools/list) | ${formatMb(first.heapUsed)} | |`,
      `| +${SESSIONS} sessions, initialize only | ${formatMb(second.heapUsed)} | ${kb((second.heapUsed - first.heapUsed) / SESSIONS)} |`,
      `| +${SESSIONS} more sessions, initialize only | ${formatMb(third.heapUsed)} | ${kb((third.heapUsed - second.heapUsed) / SESSIONS)} |`,
      // The warm-up session lists its tools again too.
      `| then one tools/list in each | ${formatMb(listed.heapUsed)} | +${kb((listed.heapUsed - third.heapUsed) / (2 * SESSIONS + 1))} |`,
      "",
      `Objects a session holds after initialize, by constructor (growth over the second ${SESSIONS} sessions / ${SESSIONS}):`,
      "",
      "| constructor | per session |",
      "|---|---|",
    ];
    const growth = topGrowth(
      await countByConstructor(second.snapshot),
      await countByConstructor(third.snapshot),
      TOP_CONSTRUCTORS,
    );
    for (const row of growth) lines.push(`| ${row.name} | ${((row.after - row.before) / SESSIONS).toFixed(1)} |`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    if (clients.exitCode === null) {
      const exited = new Promise((resolve) => clients.once("exit", resolve));
      clients.send({ close: true });
      await exited;
    }
    await controlPlane.close();
    server.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
