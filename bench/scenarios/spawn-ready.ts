import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { AgentClient } from "../../control-plane/dist/agent-client/agent-client.js";
import { latencyTable, ratio } from "../bench-table.ts";
import { DOCKER_CLI, dockerRunDetached } from "../docker-peer.ts";
import { startMcpFixture, type McpFixture } from "../mcp-fixture.ts";
import type { GoalResult, Scenario } from "../scenario.ts";
import { formatMs, summarize, type Summary } from "../stats.ts";

const BENCH_LABEL = "io.devhatchery.bench";
const READY_TIMEOUT_MS = 30_000;

interface Variant {
  name: string;
  image: string;
}

const VARIANTS: Variant[] = [
  { name: "baked", image: "devhatchery-test/runner:dev" },
  { name: "injected", image: "devhatchery-test/debian:bookworm" },
];

/** The `docker run` arguments that reproduce the control plane's runner (same network, init, limits, agent mount). */
export function peerArgs(info: Docker.ContainerInspectInfo, network: string, label: string): string[] {
  const host = info.HostConfig;
  const args = [
    "--init",
    "--network",
    network,
    "--label",
    `${BENCH_LABEL}=${label}`,
    "--security-opt",
    "no-new-privileges:true",
  ];
  if (host.PidsLimit) args.push("--pids-limit", String(host.PidsLimit));
  for (const capability of host.CapDrop ?? []) args.push("--cap-drop", capability);
  for (const entry of info.Config.Env ?? []) if (entry.startsWith("DEVHATCHERY_AGENT_PORT=")) args.push("-e", entry);
  const agentMount = info.Mounts.find((mount) => mount.Destination === "/opt/devhatchery");
  if (agentMount?.Name)
    args.push(
      "--mount",
      `type=volume,source=${agentMount.Name},target=/opt/devhatchery,readonly`,
      "--entrypoint",
      "/opt/devhatchery/bin/node",
      "-w",
      "/work",
    );
  return args;
}

/** `docker run -d` then the control plane's readiness signal (gRPC health SERVING); returns [run returned, ready] in ms. */
export async function dockerRunToReady(
  docker: Docker,
  args: string[],
  image: string,
  network: string,
  injected: boolean,
): Promise<[number, number]> {
  const token = randomBytes(32).toString("base64url");
  const started = performance.now();
  const id = await dockerRunDetached([
    ...args,
    "-e",
    `DEVHATCHERY_AGENT_TOKEN=${token}`,
    image,
    ...(injected ? ["/opt/devhatchery/agent.cjs"] : []),
  ]);
  const returned = performance.now() - started;
  const address = (await docker.getContainer(id).inspect()).NetworkSettings.Networks[network]?.IPAddress ?? "";
  const agent = new AgentClient("peer", `${address}:7070`, token);
  try {
    while (!(await agent.health.isServing(500))) {
      if (performance.now() - started > READY_TIMEOUT_MS)
        throw new Error(`docker run of "${image}" did not serve gRPC health within ${READY_TIMEOUT_MS} ms`);
    }
    return [returned, performance.now() - started];
  } finally {
    agent.close();
  }
}

export async function removeByLabel(docker: Docker, label: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${BENCH_LABEL}=${label}`] } });
  await Promise.all(
    containers.map((info) =>
      docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

async function timedSpawn(fixture: McpFixture, image: string): Promise<[number, string]> {
  const started = performance.now();
  const runnerId = await fixture.spawnRunner(image);
  return [performance.now() - started, runnerId];
}

/** runner_spawn (baked and injected) against `docker run -d` of the same container plus the same readiness check. */
export const spawnReady: Scenario = {
  title: "Spawn to ready, image present",
  async run(options, signal) {
    const fixture = await startMcpFixture(VARIANTS[0]!.image, "spawn");
    const label = randomBytes(4).toString("hex");
    const rows: Array<{ variant: Variant; mcp: Summary; run: Summary; ready: Summary }> = [];
    try {
      for (const variant of VARIANTS) {
        const injected = variant.name === "injected";
        // Warm-up: the first spawn of an image fills its agent volume (injected) and warms the engine's caches.
        const [, warm] = await timedSpawn(fixture, variant.image);
        const args = peerArgs((await fixture.direct(warm)).info, fixture.network, label);
        await fixture.call("runner_remove", { runner: warm });
        await dockerRunToReady(fixture.docker, args, variant.image, fixture.network, injected);
        await removeByLabel(fixture.docker, label);
        const mcp: number[] = [];
        const run: number[] = [];
        const ready: number[] = [];
        for (let i = 0; i < options.spawnSamples; i++) {
          signal.throwIfAborted();
          const [spawnMs, runnerId] = await timedSpawn(fixture, variant.image);
          mcp.push(spawnMs);
          await fixture.call("runner_remove", { runner: runnerId });
          const [returnedMs, readyMs] = await dockerRunToReady(
            fixture.docker,
            args,
            variant.image,
            fixture.network,
            injected,
          );
          run.push(returnedMs);
          ready.push(readyMs);
          await removeByLabel(fixture.docker, label);
        }
        rows.push({ variant, mcp: summarize(mcp), run: summarize(run), ready: summarize(ready) });
      }
    } finally {
      await removeByLabel(fixture.docker, label);
      await fixture.close();
    }
    const goals: GoalResult[] = rows.map(({ variant, mcp, run, ready }) => ({
      what: `spawn to ready, ${variant.name} agent (\`${variant.image}\`)`,
      goal: "≤ 1.5× `docker run` (+ the same readiness check)",
      measured: `p50 ${formatMs(mcp.p50)} ms vs ${formatMs(ready.p50)} ms: ${ratio(mcp.p50, ready.p50)} (${ratio(mcp.p50, run.p50)} of \`docker run -d\` returning alone)`,
      met: mcp.p50 <= 1.5 * ready.p50,
    }));
    return {
      lines: [
        "MCP = the `runner_spawn` tool through the SDK client until it returns (the runner answers gRPC health); peer = " +
          `\`${DOCKER_CLI} run -d\` of the same image with the control plane's settings (network, init, no-new-privileges, ` +
          "pids limit, dropped capabilities, agent volume and entrypoint when injected), then the same readiness check " +
          "(gRPC health SERVING), and also the moment `docker run -d` returns. Runs alternate; each runner is removed " +
          "before the next (not timed). Ratio = p50 ÷ `docker run -d` + ready p50.",
        "",
        ...latencyTable(
          rows.flatMap(({ variant, mcp, run, ready }) => [
            {
              path: `DevHatchery: \`runner_spawn\`, ${variant.name} (\`${variant.image}\`)`,
              summary: mcp,
              reference: ready,
            },
            { path: `peer: \`docker run -d\` + gRPC health, ${variant.name}`, summary: ready },
            { path: `peer: \`docker run -d\` returns, ${variant.name}`, summary: run, reference: ready },
          ]),
          "vs docker run + ready",
        ),
      ],
      goals,
    };
  },
};
