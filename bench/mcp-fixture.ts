import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import Docker from "dockerode";
import { AgentClient } from "../control-plane/dist/agent-client/agent-client.js";
import { removeTestRunners } from "../control-plane/test/docker-cleanup.ts";
import { startControlPlane, type ControlPlaneProcess } from "../test/support/control-plane-process.ts";
import { connectClient } from "../test/support/mcp-client.ts";
import { listAgentVolumes, removeAgentVolumesSince } from "./agent-volumes.ts";
import { findChildPids } from "./process-memory.ts";

const CONTROL_PLANE_MAIN = "control-plane/dist/main.js";
/**
 * The agent token of a runner this control plane made: written to the agent's stdin at start and kept only in the
 * state store (ADR 0011), which is read here the way an operator would (WAL mode lets a reader in beside the server).
 */
function agentTokenOf(stateDir: string, runnerId: string): string {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true });
  try {
    const row = db.prepare("SELECT token FROM runner_tokens WHERE runner_id = ?").get(runnerId) as
      { token?: string } | undefined;
    if (!row?.token)
      throw new Error(`No agent token for runner "${runnerId}" in ${stateDir}/state.db (runner_tokens).`);
    return row.token;
  } finally {
    db.close();
  }
}
// The control plane runs `npm pack` for the injected agent's Node runtime: it needs npm's registry, proxy and CA settings.
const NPM_ENV = /^(npm_config_\w+|NODE_EXTRA_CA_CERTS|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/;
const open = new Set<() => Promise<void>>();

/** Closes every fixture still open (a scenario cut off by its time budget); run once before exiting. */
export async function closeOpenFixtures(): Promise<void> {
  for (const close of [...open]) await close();
}

/** A runner the control plane made, reached directly too: its container and an AgentClient with its own token. */
export interface DirectRunner {
  runnerId: string;
  container: Docker.Container;
  info: Docker.ContainerInspectInfo;
  address: string;
  token: string;
  agent: AgentClient;
}

/** A warm pool of the fixture's image (devhatchery.yaml `pools:`), with the pool's other settings at their defaults. */
export interface FixturePool {
  min: number;
  max?: number;
  /** Memory of its runners (default limits.defaults.memory_mb): pooled runners together must fit in the host's memory. */
  memoryMb?: number;
}

/** The real control plane process with one principal of its own, an MCP SDK client, and cleanup by label. */
export interface McpFixture {
  docker: Docker;
  url: string;
  network: string;
  /** The name of its warm pool, unique per fixture (undefined without one). */
  pool: string | undefined;
  client: Client;
  /** A further MCP session of the same principal (closed with the fixture). */
  connect(): Promise<Client>;
  /** Calls a tool and returns its structured result; a tool error throws with the tool's text. */
  call(name: string, args: Record<string, unknown>, client?: Client): Promise<Record<string, unknown>>;
  spawnRunner(image?: string): Promise<string>;
  direct(runnerId: string): Promise<DirectRunner>;
  /** Every log line the control plane wrote so far. */
  logs(): string;
  /** The control plane's pid, for its memory. */
  pid(): number;
  close(): Promise<void>;
}

export async function startMcpFixture(
  image: string,
  name: string,
  env: Record<string, string> = {},
  pool?: FixturePool,
): Promise<McpFixture> {
  const docker = new Docker();
  const suffix = randomBytes(4).toString("hex");
  const principal = `bench-${name}-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-bench-${name}-${suffix}`;
  const poolName = pool && `bench-${name}-${suffix}`;
  // The pool lives in a config file only (no env var for it); its folder goes with the fixture.
  const configDir = pool && (await mkdtemp(join(tmpdir(), "devhatchery-bench-config-")));
  const configEnv: Record<string, string> = {};
  if (pool && configDir) {
    configEnv.DEVHATCHERY_CONFIG = join(configDir, "devhatchery.yaml");
    await writeFile(
      configEnv.DEVHATCHERY_CONFIG,
      `pools:\n  - name: ${poolName}\n    image: ${image}\n    min: ${pool.min}\n    max: ${pool.max ?? pool.min}\n` +
        (pool.memoryMb ? `    memory_mb: ${pool.memoryMb}\n` : ""),
    );
  }
  const volumesBefore = await listAgentVolumes(docker);
  const othersBefore = new Set(await findChildPids(CONTROL_PLANE_MAIN));
  const npmEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => NPM_ENV.test(entry[0]) && entry[1] !== undefined,
    ),
  );
  const removeConfig = async (): Promise<void> => {
    if (configDir) await rm(configDir, { recursive: true, force: true });
  };
  const server: ControlPlaneProcess = await startControlPlane({
    ...npmEnv,
    DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
    DEVHATCHERY_RUNNER_NETWORK: network,
    DEVHATCHERY_DEFAULT_IMAGE: image,
    ...configEnv,
    ...env,
  }).catch(async (error: unknown) => {
    await removeConfig();
    throw error;
  });
  const [pid, ...extra] = (await findChildPids(CONTROL_PLANE_MAIN)).filter((found) => !othersBefore.has(found));
  const clients: Client[] = [];
  const agents: AgentClient[] = [];
  const close = async (): Promise<void> => {
    if (!open.delete(close)) return;
    for (const agent of agents) agent.close();
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await server.stop();
    // A stopped control plane leaves its pool's ready runners on the engine (for its next start), by design.
    await removeTestRunners(poolName ? [principal, `pool:${poolName}`] : [principal], network);
    // Concurrent first spawns can create several networks of one name; remove each by id.
    const leftovers = await docker.listNetworks({ filters: { name: [network] } });
    await Promise.all(
      leftovers
        .filter((found) => found.Name === network)
        .map((found) =>
          docker
            .getNetwork(found.Id)
            .remove()
            .catch(() => undefined),
        ),
    );
    await removeAgentVolumesSince(docker, volumesBefore);
    await removeConfig();
  };
  open.add(close);
  const connect = async (): Promise<Client> => {
    const client = await connectClient(server.url, token);
    clients.push(client);
    return client;
  };
  try {
    const client = await connect();
    const call = async (
      tool: string,
      args: Record<string, unknown>,
      via = client,
    ): Promise<Record<string, unknown>> => {
      const result = (await via.callTool({ name: tool, arguments: args }, undefined, {
        timeout: 180_000,
      })) as CallToolResult;
      if (result.isError)
        throw new Error(
          `${tool} failed: ${result.content.map((item) => (item.type === "text" ? item.text : item.type)).join(" ")}`,
        );
      return (result.structuredContent ?? {}) as Record<string, unknown>;
    };
    return {
      docker,
      url: server.url,
      network,
      pool: poolName,
      client,
      connect,
      call,
      spawnRunner: async (runnerImage = image) =>
        (await call("runner_spawn", { image: runnerImage })).runner_id as string,
      async direct(runnerId) {
        const [found] = await docker.listContainers({
          all: true,
          filters: { label: [`io.devhatchery.runner=${runnerId}`] },
        });
        if (!found)
          throw new Error(`No container labelled io.devhatchery.runner=${runnerId}; was runner "${runnerId}" removed?`);
        const container = docker.getContainer(found.Id);
        const info = await container.inspect();
        const address = info.NetworkSettings.Networks[network]?.IPAddress ?? "";
        const agentToken = agentTokenOf(server.stateDir, runnerId);
        const agent = new AgentClient(runnerId, `${address}:7070`, agentToken);
        agents.push(agent);
        return { runnerId, container, info, address, token: agentToken, agent };
      },
      logs: () => server.logs(),
      pid: () => {
        if (pid === undefined || extra.length > 0)
          throw new Error(
            `Cannot tell which child process is this fixture's control plane ("${CONTROL_PLANE_MAIN}"); start one fixture at a time.`,
          );
        return pid;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
