import { formatMb, readRssBytes } from "../process-memory.ts";
import { startMcpFixture, type McpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";

const SETTLE_MS = 2_000;
const SPAWN_CONCURRENCY = 5;

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function inBatches<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
  signal: AbortSignal,
): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) {
    signal.throwIfAborted();
    await Promise.all(items.slice(i, i + concurrency).map(work));
  }
}

async function agentIdleRss(fixture: McpFixture, runnerId: string): Promise<number> {
  const { address, token } = await fixture.direct(runnerId);
  const response = await fetch(`http://${address}:7071/debug.json`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok)
    throw new Error(
      `the agent's debug endpoint of runner "${runnerId}" answered ${response.status}; is the debug port (7071) on?`,
    );
  return ((await response.json()) as { memory: { rss_bytes: number } }).memory.rss_bytes;
}

/** The agent's idle RSS in a fresh runner, and the control plane's RSS before and with N runners spawned through MCP. */
export const memory: Scenario = {
  title: "Memory",
  async run(options, signal) {
    const fixture = await startMcpFixture("devhatchery-test/runner:dev", "memory");
    try {
      const pid = fixture.pid();
      await settle();
      const before = await readRssBytes(pid);
      // The first spawn alone: it creates the runner network, which concurrent first spawns would each create.
      const runners: string[] = [await fixture.spawnRunner()];
      await inBatches(
        Array.from({ length: options.memoryRunners - 1 }, (_, i) => i),
        SPAWN_CONCURRENCY,
        async () => runners.push(await fixture.spawnRunner()),
        signal,
      );
      await settle();
      const agentRss = await agentIdleRss(fixture, runners[0]!);
      const withRunners = await readRssBytes(pid);
      await inBatches(runners, SPAWN_CONCURRENCY, (runner) => fixture.call("runner_remove", { runner }), signal);
      await settle();
      const after = await readRssBytes(pid);
      const perRunner = (withRunners - before) / options.memoryRunners;
      return {
        lines: [
          `RSS (VmRSS of /proc/<pid>/status) of the real control plane process with one MCP session, settled ${SETTLE_MS / 1000} s ` +
            `after each step; ${options.memoryRunners} runners spawned through \`runner_spawn\` (${SPAWN_CONCURRENCY} at a time) and ` +
            "removed through `runner_remove` (the first spawn alone: it creates the runner network). The agent's RSS comes from its debug endpoint in the first of those runners, idle " +
            `${SETTLE_MS / 1000} s after the last spawn.`,
          "",
          "| what | RSS |",
          "|---|---|",
          `| control plane, no runner | ${formatMb(before)} |`,
          `| control plane, ${options.memoryRunners} runners | ${formatMb(withRunners)} (${formatMb(perRunner)} per runner) |`,
          `| control plane, runners removed | ${formatMb(after)} |`,
          `| agent, idle | ${formatMb(agentRss)} |`,
        ],
        goals: [
          {
            what: "agent idle memory",
            goal: "RSS < 60 MB",
            measured: formatMb(agentRss),
            met: agentRss < 60 * 1024 * 1024,
          },
        ],
      };
    } finally {
      await fixture.close();
    }
  },
};
