import { randomBytes } from "node:crypto";
import { latencyTable, ratio } from "../bench-table.ts";
import { DOCKER_CLI, dockerRunDetached } from "../docker-peer.ts";
import { startMcpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { burst } from "../burst.ts";
import { formatMs, summarize } from "../stats.ts";
import { dockerRunToReady, peerArgs, removeByLabel } from "./spawn-ready.ts";

const IMAGE = "devhatchery-test/runner:dev";

/** A burst of cold spawns through `runner_spawn` against the same burst of `docker run -d` plus readiness. */
export const spawnBurst: Scenario = {
  title: "Spawn burst, image present",
  async run(options, signal) {
    const fixture = await startMcpFixture(IMAGE, "burst");
    const label = randomBytes(4).toString("hex");
    try {
      // Warm-up, and the container settings the peer copies.
      const warm = await fixture.spawnRunner(IMAGE);
      const args = peerArgs((await fixture.direct(warm)).info, fixture.network, label);
      await fixture.call("runner_remove", { runner: warm });
      const { burstSpawns: count, burstConcurrency: concurrency } = options;
      const runners: string[] = [];
      const mcp = await burst(
        count,
        concurrency,
        async () => void runners.push(await fixture.spawnRunner(IMAGE)),
        signal,
      );
      // Removal is not timed; the peer's burst starts from the same empty engine.
      for (const runnerId of runners) await fixture.call("runner_remove", { runner: runnerId });
      const peer = await burst(
        count,
        concurrency,
        async () => void (await dockerRunToReady(fixture.docker, args, IMAGE, fixture.network, false)),
        signal,
      );
      await removeByLabel(fixture.docker, label);
      // And `docker run -d` alone: what the engine takes to create and start the containers, nothing listening yet.
      const bare = await burst(
        count,
        concurrency,
        async () =>
          void (await dockerRunDetached([...args, "-e", "DEVHATCHERY_AGENT_TOKEN=unused-by-this-burst", IMAGE])),
        signal,
      );
      const spawns = summarize(mcp.each);
      const runs = summarize(peer.each);
      const bareRuns = summarize(bare.each);
      return {
        lines: [
          `${count} spawns of \`${IMAGE}\`, ${concurrency} at a time, by one principal: MCP = \`runner_spawn\` through the SDK client ` +
            `until each returns ready; peer = \`${DOCKER_CLI} run -d\` of the same container settings plus the same readiness ` +
            "check (gRPC health SERVING). The runners of a burst stay until it ends (the principal holds up to " +
            `${count}), then are removed untimed. Wall = the whole burst; per spawn = each call's own time.`,
          "",
          ...latencyTable(
            [
              { path: "DevHatchery: `runner_spawn` burst, per spawn", summary: spawns, reference: runs },
              { path: "peer: `docker run -d` + gRPC health burst, per spawn", summary: runs },
              { path: "peer: `docker run -d` alone burst, per spawn", summary: bareRuns, reference: runs },
            ],
            "vs peer",
          ),
          "",
          `Wall time: DevHatchery ${formatMs(mcp.wallMs)} ms, peer ${formatMs(peer.wallMs)} ms (${ratio(mcp.wallMs, peer.wallMs)}); ` +
            `\`docker run -d\` alone ${formatMs(bare.wallMs)} ms (DevHatchery ${ratio(mcp.wallMs, bare.wallMs)} of it).`,
        ],
        goals: [
          {
            what: `cold burst of ${count} spawns at concurrency ${concurrency}`,
            goal: "≤ 1.1× the same burst of `docker run -d` + readiness (wall time)",
            measured: `${formatMs(mcp.wallMs)} ms vs ${formatMs(peer.wallMs)} ms: ${ratio(mcp.wallMs, peer.wallMs)} (${ratio(mcp.wallMs, bare.wallMs)} of \`docker run -d\` alone); p95 per spawn ${formatMs(spawns.p95)} ms vs ${formatMs(runs.p95)} ms`,
            met: mcp.wallMs <= 1.1 * peer.wallMs,
          },
        ],
      };
    } finally {
      await removeByLabel(fixture.docker, label);
      await fixture.close();
    }
  },
};
