import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { latencyTable, ratio } from "../bench-table.ts";
import { DOCKER_CLI, dockerRunDetached } from "../docker-peer.ts";
import { burst } from "../burst.ts";
import { startMcpFixture, type McpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, summarize } from "../stats.ts";
import { peerArgs, removeByLabel } from "./spawn-ready.ts";

const IMAGE = "devhatchery-test/runner:dev";
/** What a claim asks for: the pool's image with tmpfs storage, limits left to the defaults (the pool's own). */
const CLAIM = { image: IMAGE, storage: "tmpfs" };
/** The same spawn but for more memory than the pool's runners have (limits.defaults, 2048 MiB): no pool matches. */
const COLD = { ...CLAIM, memory_mb: 3072 };
/**
 * The refill burst's pool: 20 runners of 512 MiB, since pooled runners together must fit in the host's memory (20 of
 * the default 2048 MiB would not on a 24 GiB machine), and the claims that match it.
 */
const REFILL_MEMORY_MB = 512;
const REFILL_CLAIM = { ...CLAIM, memory_mb: REFILL_MEMORY_MB };
const POOL_TIMEOUT_MS = 120_000;
const POLL_MS = 20;

/** One pool as system_status shows it. */
interface PoolView {
  name: string;
  ready: number;
  starting: number;
  target: number;
  min: number;
  claims: number;
  misses: number;
}

async function poolStatus(fixture: McpFixture): Promise<PoolView> {
  const pools = (await fixture.call("system_status", {})).pools as PoolView[] | undefined;
  const pool = pools?.find((candidate) => candidate.name === fixture.pool);
  if (!pool) throw new Error(`system_status lists no pool "${fixture.pool}"; start the fixture with a pool.`);
  return pool;
}

/** Polls system_status until `done` holds for the fixture's pool; resolves with that status. */
async function waitForPool(
  fixture: McpFixture,
  what: string,
  done: (pool: PoolView) => boolean,
  signal: AbortSignal,
): Promise<PoolView> {
  const deadline = performance.now() + POOL_TIMEOUT_MS;
  for (;;) {
    signal.throwIfAborted();
    const pool = await poolStatus(fixture);
    if (done(pool)) return pool;
    if (performance.now() > deadline)
      throw new Error(`pool "${fixture.pool}" not ${what} within ${POOL_TIMEOUT_MS} ms; last: ${JSON.stringify(pool)}`);
    await sleep(POLL_MS);
  }
}

/** Full and quiet: at least `ready` ready runners and none being created (nothing else loads the engine). */
function settled(ready: number): (pool: PoolView) => boolean {
  return (pool) => pool.ready >= ready && pool.starting === 0;
}

/** Waits for the pool to create nothing (a container created after the control plane stops would outlive the cleanup), then closes the fixture. */
async function closeWhenIdle(fixture: McpFixture): Promise<void> {
  const idle = (pool: PoolView): boolean => pool.starting === 0;
  await waitForPool(fixture, "idle", idle, AbortSignal.timeout(POOL_TIMEOUT_MS)).catch(() => undefined);
  await fixture.close();
}

/** One `runner_spawn` through the SDK client: its time in ms, the runner and whether it was claimed from the pool. */
async function timedSpawn(
  fixture: McpFixture,
  args: Record<string, unknown>,
): Promise<{ ms: number; runnerId: string; pooled: boolean }> {
  const started = performance.now();
  const result = await fixture.call("runner_spawn", args);
  return { ms: performance.now() - started, runnerId: result.runner_id as string, pooled: result.pooled === true };
}

/** Warm claims through `runner_spawn` beside cold spawns of the same image and `docker run -d` returning. */
export const warmClaim: Scenario = {
  title: "Warm claim vs cold spawn",
  async run(options, signal) {
    const fixture = await startMcpFixture(IMAGE, "warm", {}, { min: 1 });
    const label = randomBytes(4).toString("hex");
    const warm: number[] = [];
    const cold: number[] = [];
    const run: number[] = [];
    let misses = 0;
    try {
      // Warm-up (one of each, untimed), and the container settings the peer copies from a cold runner.
      await waitForPool(fixture, "ready", settled(1), signal);
      const first = await timedSpawn(fixture, CLAIM);
      await fixture.call("runner_remove", { runner: first.runnerId });
      const model = await timedSpawn(fixture, COLD);
      const { info } = await fixture.direct(model.runnerId);
      await fixture.call("runner_remove", { runner: model.runnerId });
      const host = info.HostConfig;
      const args = [
        ...peerArgs(info, fixture.network, label),
        ...Object.entries(host.Tmpfs ?? {}).flatMap(([path, mode]) => ["--tmpfs", mode ? `${path}:${mode}` : path]),
        "--memory",
        `${host.Memory ?? 0}b`,
        "--cpus",
        String((host.NanoCpus ?? 0) / 1e9),
        "-e",
        "DEVHATCHERY_AGENT_TOKEN=unused-by-this-peer",
        IMAGE,
      ];
      await dockerRunDetached(args);
      await removeByLabel(fixture.docker, label);
      for (let i = 0; i < options.warmClaims; i++) {
        // Each timed call starts with the pool full and the engine idle; the waits and removals are not timed.
        await waitForPool(fixture, "refilled", settled(1), signal);
        const claim = await timedSpawn(fixture, CLAIM);
        if (claim.pooled) warm.push(claim.ms);
        else misses++;
        await fixture.call("runner_remove", { runner: claim.runnerId });
        await waitForPool(fixture, "refilled", settled(1), signal);
        const spawn = await timedSpawn(fixture, COLD);
        if (spawn.pooled)
          throw new Error(`runner_spawn ${JSON.stringify(COLD)} was claimed from the pool; expected cold`);
        cold.push(spawn.ms);
        await fixture.call("runner_remove", { runner: spawn.runnerId });
        const started = performance.now();
        await dockerRunDetached(args);
        run.push(performance.now() - started);
        await removeByLabel(fixture.docker, label);
      }
    } finally {
      await removeByLabel(fixture.docker, label);
      await closeWhenIdle(fixture);
    }
    const claims = summarize(warm);
    const spawns = summarize(cold);
    const runs = summarize(run);
    return {
      lines: [
        `A pool of one \`${IMAGE}\` runner (min 1, tmpfs, default limits). Claim = \`runner_spawn\` ` +
          `${JSON.stringify(CLAIM)} through the SDK client until it returns \`pooled: true\`; cold = \`runner_spawn\` ` +
          `${JSON.stringify(COLD)} (more memory than the pool's runners, so no pool matches) until it returns ready; ` +
          `peer = \`${DOCKER_CLI} run -d\` of the cold runner's settings (network, init, limits, tmpfs /work) returning, ` +
          "nothing listening yet. Runs alternate; before each timed call the pool is full and not refilling, and each " +
          `runner is removed after it (not timed).${misses > 0 ? ` ${misses} claims missed the pool and are not in the table.` : ""}`,
        "",
        ...latencyTable(
          [
            { path: "DevHatchery: warm claim (`runner_spawn`, pooled)", summary: claims, reference: spawns },
            { path: "DevHatchery: cold spawn (`runner_spawn`, same image, tmpfs)", summary: spawns },
            { path: "peer: `docker run -d` returns", summary: runs, reference: spawns },
          ],
          "vs cold spawn",
        ),
        "",
        `Warm claim p50 = ${ratio(claims.p50, spawns.p50)} of a cold spawn and ${ratio(claims.p50, runs.p50)} of ` +
          `\`docker run -d\` returning alone (p95: ${ratio(claims.p95, spawns.p95)}, ${ratio(claims.p95, runs.p95)}).`,
      ],
      goals: [
        {
          what: "warm pool claim through `runner_spawn`",
          goal: "p50 < 50 ms, p95 < 100 ms (Daytona claims < 90 ms)",
          measured:
            `p50 ${formatMs(claims.p50)} ms, p95 ${formatMs(claims.p95)} ms; cold spawn p50 ${formatMs(spawns.p50)} ms ` +
            `(${ratio(claims.p50, spawns.p50)}), \`docker run -d\` p50 ${formatMs(runs.p50)} ms (${ratio(claims.p50, runs.p50)})` +
            (misses > 0 ? `; ${misses} of ${options.warmClaims} missed` : ""),
          met: misses === 0 && claims.p50 < 50 && claims.p95 < 100,
        },
      ],
    };
  },
};

/** A burst of claims emptying a full pool: the claims' latency and misses, and how long until min is ready again. */
export const poolRefill: Scenario = {
  title: "Pool refill after a burst of claims",
  async run(options, signal) {
    const { refillClaims: count, burstConcurrency: concurrency } = options;
    const fixture = await startMcpFixture(IMAGE, "refill", {}, { min: count, memoryMb: REFILL_MEMORY_MB });
    const runners: string[] = [];
    try {
      await waitForPool(fixture, "filled", settled(count), signal);
      // Warm-up: one claim, then the pool full again.
      const first = await timedSpawn(fixture, REFILL_CLAIM);
      await fixture.call("runner_remove", { runner: first.runnerId });
      const before = await waitForPool(fixture, "refilled", settled(count), signal);
      const latencies: number[] = [];
      let missed = 0;
      const started = performance.now();
      const { wallMs: burstMs } = await burst(
        count,
        concurrency,
        async () => {
          const claim = await timedSpawn(fixture, REFILL_CLAIM);
          runners.push(claim.runnerId);
          if (claim.pooled) latencies.push(claim.ms);
          else missed++;
        },
        signal,
      );
      const after = await waitForPool(fixture, "back to min", (pool) => pool.ready >= pool.min, signal);
      const refillMs = performance.now() - started;
      const claims = summarize(latencies);
      return {
        lines: [
          `A pool of ${count} \`${IMAGE}\` runners of ${REFILL_MEMORY_MB} MiB (min = max = ${count}), full and idle; then ${count} claims ` +
            `(\`runner_spawn\` ${JSON.stringify(REFILL_CLAIM)}), ${concurrency} at a time, by one principal. Refill = from the ` +
            "burst's start until `system_status` shows the pool's ready count at min again (polled every " +
            `${POLL_MS} ms after the burst); the pool creates up to 4 runners at once. Claimed runners stay until the end.`,
          "",
          ...latencyTable([{ path: "DevHatchery: claim within the burst (pooled)", summary: claims }], "ratio"),
          "",
          `Burst: ${formatMs(burstMs)} ms for ${count} claims; missed (cold, \`pooled: false\`): ${missed} ` +
            `(the pool counted ${after.misses - before.misses}). Refill to min (${after.min}): ${formatMs(refillMs)} ms ` +
            `from the burst's start, ${formatMs(refillMs - burstMs)} ms after its end; ` +
            `${formatMs(refillMs / Math.max(1, count))} ms a runner.`,
        ],
        goals: [],
      };
    } finally {
      for (const runnerId of runners) await fixture.call("runner_remove", { runner: runnerId }).catch(() => undefined);
      await closeWhenIdle(fixture);
    }
  },
};
