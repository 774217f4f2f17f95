// Measures the runner agent's memory in a real runner the way `npm run bench` reads it (RSS from the agent's debug
// endpoint, settled 2 s): idle after start-up and a health check; then after a few execs (pipes and a pty), a file
// written and read, and a watch that saw a change; and the exec round trip of `true`, so that memory savings are seen
// not to cost speed. Each run is a fresh runner; the medians are printed.
// Usage: npm run build && node bench/agent-memory.ts   (after `bash images/build-test-images.sh` for the baked image)
//   BENCH_DELIVERY  baked (default: devhatchery-test/runner:dev) or injected (devhatchery-test/debian:bookworm with
//                   /opt/devhatchery mounted from runner-agent/dist and this machine's Node, as an agent volume is)
//   BENCH_AGENT_DIR a folder holding another agent.cjs to try (default: the image's, or runner-agent/dist when injected)
//   BENCH_NODE_FLAGS node options to try on the agent's command line (space-separated)
//   BENCH_RUNS (3), BENCH_SAMPLES (200 exec samples per run)
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { AgentClient } from "../control-plane/dist/agent-client/agent-client.js";
import { AGENT_ENTRYPOINT, AGENT_MOUNT_PATH } from "../control-plane/dist/runtime/agent-payload.js";
import { formatMb } from "./process-memory.ts";
import { formatMs, measure, summarize } from "./stats.ts";

const delivery = process.env.BENCH_DELIVERY ?? "baked";
const agentDir = process.env.BENCH_AGENT_DIR ? resolve(process.env.BENCH_AGENT_DIR) : undefined;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const samples = Number(process.env.BENCH_SAMPLES ?? 200);
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
const SETTLE_MS = 2_000;

function settle(): Promise<void> {
  return new Promise((done) => setTimeout(done, SETTLE_MS));
}

/** Image, binds and entrypoint of the runner for the chosen delivery. */
function runnerSetup(): { image: string; binds: string[]; entrypoint?: string[] } {
  if (delivery === "baked") {
    return {
      image: "devhatchery-test/runner:dev",
      binds: agentDir ? [`${join(agentDir, "agent.cjs")}:${AGENT_MOUNT_PATH}/agent.cjs:ro`] : [],
    };
  }
  if (delivery !== "injected") throw new Error(`BENCH_DELIVERY "${delivery}" is unknown; use "baked" or "injected".`);
  const dir = agentDir ?? resolve("runner-agent/dist");
  const files = readdirSync(dir).filter((name) => name === "agent.cjs" || name.endsWith(".node"));
  return {
    image: "devhatchery-test/debian:bookworm",
    binds: [
      `${process.execPath}:${AGENT_MOUNT_PATH}/bin/node:ro`,
      ...files.map((name) => `${join(dir, name)}:${AGENT_MOUNT_PATH}/${name}:ro`),
    ],
    entrypoint: AGENT_ENTRYPOINT,
  };
}

/** The entrypoint with BENCH_NODE_FLAGS placed after the node binary. */
function withFlags(entrypoint: string[]): string[] {
  const [node, ...rest] = entrypoint;
  return [node ?? `${AGENT_MOUNT_PATH}/bin/node`, ...nodeFlags, ...rest];
}

async function agentRss(address: string, token: string): Promise<number> {
  const response = await fetch(`http://${address}:7071/debug.json`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`the agent's debug endpoint at ${address}:7071 answered ${response.status}`);
  return ((await response.json()) as { memory: { rss_bytes: number } }).memory.rss_bytes;
}

/** What a session typically does first: a few execs, one on a pty, a file written and read back, a watch. */
async function typicalWork(agent: AgentClient): Promise<void> {
  const request = { shell: "", cwd: "", env: {}, timeoutMs: 0, stdin: Buffer.alloc(0), stdinOpen: false };
  await agent.exec.start({ ...request, argv: ["true"] }, () => {}).ended;
  await agent.exec.start({ ...request, argv: [], shell: "echo out; echo err >&2; seq 1 20000" }, () => {}).ended;
  await agent.exec.start({ ...request, argv: ["ls", "-la", "/"] }, () => {}).ended;
  await agent.exec.start({ ...request, argv: ["true"], pty: { rows: 24, cols: 80 } }, () => {}).ended;
  const watch = await agent.watch.start({ path: "/work", recursive: true, ignore: [], gitignore: false });
  await agent.fs.write("/work/memory-bench/notes.txt", Buffer.from("hello\n"), { createParents: true, mode: 0 });
  await agent.fs.read("/work/memory-bench/notes.txt", 0, 0);
  await agent.fs.list("/work", 100);
  await agent.watch.read(watch.watchId, 0, 2_000, 100);
  await agent.watch.close(watch.watchId);
}

interface Measurement {
  /** Container start to the agent answering its health check. */
  readyMs: number;
  idle: number;
  afterWork: number;
  execP50: number;
}

async function measureOnce(docker: Docker): Promise<Measurement> {
  const suffix = randomBytes(4).toString("hex");
  const network = `devhatchery-bench-memory-${suffix}`;
  const token = randomBytes(32).toString("base64url");
  const setup = runnerSetup();
  await docker.createNetwork({ Name: network, Driver: "bridge", Labels: { "io.devhatchery.bench": "true" } });
  const container = await docker.createContainer({
    name: network,
    Image: setup.image,
    Env: [`DEVHATCHERY_AGENT_TOKEN=${token}`],
    Labels: { "io.devhatchery.bench": "true" },
    ...(setup.entrypoint || nodeFlags.length > 0
      ? { Entrypoint: withFlags(setup.entrypoint ?? AGENT_ENTRYPOINT), Cmd: [], WorkingDir: "/work" }
      : {}),
    HostConfig: { Init: true, NetworkMode: network, Binds: setup.binds },
  });
  let agent: AgentClient | undefined;
  try {
    const started = performance.now();
    await container.start();
    const address = (await container.inspect()).NetworkSettings.Networks[network]?.IPAddress ?? "";
    agent = new AgentClient("bench-memory", `${address}:7070`, token);
    const deadline = Date.now() + 30_000;
    while (!(await agent.health.isServing(500))) {
      if (Date.now() > deadline) throw new Error(`the agent in ${setup.image} did not become ready within 30 s`);
    }
    const readyMs = performance.now() - started;
    await settle();
    const idle = await agentRss(address, token);
    await typicalWork(agent);
    await settle();
    const afterWork = await agentRss(address, token);
    const live = agent;
    const exec = summarize(
      await measure(
        () =>
          live.exec.start(
            { argv: ["true"], shell: "", cwd: "", env: {}, timeoutMs: 0, stdin: Buffer.alloc(0), stdinOpen: false },
            () => {},
          ).ended,
        { warmup: 20, samples },
      ),
    );
    return { readyMs, idle, afterWork, execP50: exec.p50 };
  } finally {
    agent?.close();
    await container.remove({ force: true }).catch(() => undefined);
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const docker = new Docker();
  const results = [];
  for (let run = 0; run < runs; run++) {
    const result = await measureOnce(docker);
    process.stderr.write(
      `run ${run + 1}: ready in ${formatMs(result.readyMs)} ms, idle ${formatMb(result.idle)}, after work ${formatMb(result.afterWork)}, exec p50 ${formatMs(result.execP50)} ms\n`,
    );
    results.push(result);
  }
  const median = (values: number[]): number => summarize(values).p50;
  process.stdout.write(
    `agent (${delivery}${agentDir ? `, ${agentDir}` : ""}${nodeFlags.length > 0 ? `, ${nodeFlags.join(" ")}` : ""}), median of ${runs}: ready in ${formatMs(median(results.map((r) => r.readyMs)))} ms, idle ${formatMb(median(results.map((r) => r.idle)))}, ` +
      `after work ${formatMb(median(results.map((r) => r.afterWork)))}, exec p50 ${formatMs(median(results.map((r) => r.execP50)))} ms\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
