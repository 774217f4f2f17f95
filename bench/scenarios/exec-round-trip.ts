import { latencyTable, ratio } from "../bench-table.ts";
import { DOCKER_CLI, dockerApiExec, dockerCliExec } from "../docker-peer.ts";
import { startMcpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, measure, summarize } from "../stats.ts";

/** `true` through MCP, through the agent directly, and through `docker exec` (API and CLI), all on one runner. */
export const execRoundTrip: Scenario = {
  title: "Exec round trip of `true`",
  async run(options, signal) {
    const fixture = await startMcpFixture("devhatchery-test/runner:dev", "exec");
    try {
      const runnerId = await fixture.spawnRunner();
      const { agent, container } = await fixture.direct(runnerId);
      const samples = options.execSamples;
      const peerSamples = Math.max(5, Math.round(samples / 4));
      const mcp = summarize(
        await measure(() => fixture.call("exec", { runner: runnerId, command: ["true"] }), {
          warmup: 10,
          samples,
          signal,
        }),
      );
      const direct = summarize(
        await measure(
          () =>
            agent.exec.start(
              { argv: ["true"], shell: "", cwd: "", env: {}, timeoutMs: 0, stdin: Buffer.alloc(0), stdinOpen: false },
              () => {},
            ).ended,
          { warmup: 10, samples, signal },
        ),
      );
      const api = summarize(
        await measure(() => dockerApiExec(container, ["true"]), { warmup: 3, samples: peerSamples, signal }),
      );
      const cli = summarize(
        await measure(() => dockerCliExec(container.id, ["true"]), { warmup: 2, samples: peerSamples, signal }),
      );
      const agentMet = direct.p50 <= 5 && api.p50 / direct.p50 >= 10;
      return {
        lines: [
          "Start to exit status, one runner (`devhatchery-test/runner:dev`) spawned through MCP; MCP = the `exec` tool with " +
            '`command: ["true"]` via the SDK client; agent = its gRPC Exec stream with the runner\'s token; peer CLI ' +
            `\`${DOCKER_CLI}\`. Ratio = p50 ÷ \`docker exec\` (API) p50, lower is better.`,
          "",
          ...latencyTable(
            [
              { path: "DevHatchery: MCP `exec` tool", summary: mcp, reference: api },
              { path: "DevHatchery: agent gRPC Exec directly", summary: direct, reference: api },
              { path: "peer: `docker exec` via Engine API", summary: api },
              { path: "peer: `docker exec` CLI", summary: cli, reference: api },
            ],
            "vs docker exec (API)",
          ),
        ],
        goals: [
          {
            what: "exec `true` through the agent",
            goal: "p50 ≤ 5 ms, ≥ 10× faster than `docker exec`",
            measured: `p50 ${formatMs(direct.p50)} ms; ${ratio(api.p50, direct.p50)} faster than the API, ${ratio(cli.p50, direct.p50)} than the CLI`,
            met: agentMet,
          },
        ],
      };
    } finally {
      await fixture.close();
    }
  },
};
