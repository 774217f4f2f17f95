import { latencyTable } from "../bench-table.ts";
import { startMcpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, measure, summarize } from "../stats.ts";

const PATH = "/work/bench/stat-me.txt";

/** `fs_stat` end to end through MCP against the agent's Stat RPC on the same runner: the difference is the control plane. */
export const toolOverhead: Scenario = {
  title: "MCP tool overhead (`fs_stat`)",
  async run(options, signal) {
    const fixture = await startMcpFixture("devhatchery-test/runner:dev", "stat");
    try {
      const runnerId = await fixture.spawnRunner();
      const { agent } = await fixture.direct(runnerId);
      await fixture.call("fs_write", { runner: runnerId, path: PATH, content: "hello\n" });
      const mcp = summarize(
        await measure(() => fixture.call("fs_stat", { runner: runnerId, path: PATH }), {
          warmup: 20,
          samples: options.statSamples,
          signal,
        }),
      );
      const direct = summarize(
        await measure(() => agent.fs.stat(PATH), { warmup: 20, samples: options.statSamples, signal }),
      );
      return {
        lines: [
          `\`fs_stat\` of a small file through the MCP SDK client (Streamable HTTP, bearer auth, JSON response) against the agent's ` +
            "Stat RPC called directly on the same runner. The `fs_stat` tool also reads the first bytes for the media type. " +
            "Ratio = p50 ÷ agent Stat p50.",
          "",
          ...latencyTable(
            [
              { path: "DevHatchery: MCP `fs_stat` tool", summary: mcp, reference: direct },
              { path: "agent Stat RPC directly", summary: direct },
            ],
            "vs agent Stat",
          ),
          "",
          `Control plane overhead (MCP − agent): p50 ${formatMs(mcp.p50 - direct.p50)} ms, p95 ${formatMs(mcp.p95 - direct.p95)} ms.`,
        ],
        goals: [
          {
            what: "MCP tool call overhead (`fs_stat`) end to end",
            goal: "p95 < 10 ms (gateway requirement < 20 ms)",
            measured: `p95 ${formatMs(mcp.p95)} ms (p50 ${formatMs(mcp.p50)} ms)`,
            met: mcp.p95 < 10,
          },
        ],
      };
    } finally {
      await fixture.close();
    }
  },
};
