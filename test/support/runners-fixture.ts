import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { expect } from "vitest";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "./control-plane-process.js";
import { callTool, connectClient, textOf } from "./mcp-client.js";

/** A principal of a test control plane: its id (unique per run) and bearer token. */
export interface TestPrincipal {
  id: string;
  token: string;
}

/** Unique principals and a runner network for one e2e file; `name` goes into ids and labels. */
export function testIdentities(
  name: string,
  principalNames: string[],
): { principals: TestPrincipal[]; network: string; env: Record<string, string> } {
  const suffix = randomBytes(4).toString("hex");
  const principals = principalNames.map((principal) => ({
    id: `e2e-${name}-${principal}-${suffix}`,
    token: randomBytes(24).toString("hex"),
  }));
  const network = `devhatchery-e2e-${name}-${suffix}`;
  return {
    principals,
    network,
    env: {
      DEVHATCHERY_BEARER_TOKENS: principals.map((principal) => `${principal.id}:${principal.token}`).join(","),
      DEVHATCHERY_RUNNER_NETWORK: network,
    },
  };
}

/** Removes what the control plane made for these principals: runners, workspace volumes and the runner networks. */
export async function removeTestWorkspaces(principals: TestPrincipal[], network: string): Promise<void> {
  await removeTestRunners(
    principals.map((principal) => principal.id),
    network,
  );
}

/** Containers (any state) labelled with this owner. */
export async function containersOf(principal: TestPrincipal): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`io.devhatchery.owner=${principal.id}`] } }))
    .length;
}

/** Calls a tool that must succeed and returns its structured content. */
export async function ok(
  client: Client,
  tool: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const { result, structured } = await callTool(client, tool, args);
  expect(result.isError, `${tool} ${JSON.stringify(args)}: ${textOf(result)}`).toBeFalsy();
  return structured;
}

/** Calls a tool that must fail and returns the error text ("Error CODE: message\nhint"). */
export async function fails(client: Client, tool: string, args: Record<string, unknown> = {}): Promise<string> {
  const { result } = await callTool(client, tool, args);
  expect(
    result.isError,
    `${tool} ${JSON.stringify(args)} should fail: ${JSON.stringify(result.structuredContent)}`,
  ).toBe(true);
  return textOf(result);
}

/** Runs a shell command through exec and returns stdout, asserting exit 0. */
export async function sh(client: Client, runner: string, command: string): Promise<string> {
  const result = await ok(client, "exec", { runner, command });
  expect(result.exit_code, `${command}: ${JSON.stringify(result)}`).toBe(0);
  return result.stdout as string;
}

/** Polls `probe` every 100 ms until it returns a value, for at most `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A started control plane with one connected client per principal; close() disconnects, stops and cleans up. */
export interface RunnersControlPlane {
  server: ControlPlaneProcess;
  clients: Client[];
  close(): Promise<void>;
}

export async function startRunnersControlPlane(
  principals: TestPrincipal[],
  network: string,
  env: Record<string, string>,
): Promise<RunnersControlPlane> {
  const server = await startControlPlane(env);
  const clients: Client[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await server.stop();
    await removeTestWorkspaces(principals, network);
  };
  try {
    for (const principal of principals) clients.push(await connectClient(server.url, principal.token));
    return { server, clients, close };
  } catch (error) {
    await close();
    throw error;
  }
}
