import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "./control-plane-process.js";
import { callTool, connectClient } from "./mcp-client.js";

/** A control plane with two principals, alice owning one ready runner and bob owning none. */
export interface TwoPrincipalRunner {
  server: ControlPlaneProcess;
  asAlice: Client;
  asBob: Client;
  /** Alice's runner, spawned from the offline test image. */
  runnerId: string;
  /** Closes the clients, stops the control plane and removes every runner and the network it made; returns its exit code. */
  close(): Promise<number | null>;
}

/** Starts the real control plane for alice and bob and spawns one runner for alice; `name` goes into ids and labels. */
export async function startTwoPrincipalRunner(name: string): Promise<TwoPrincipalRunner> {
  const suffix = randomBytes(4).toString("hex");
  const alice = { principal: `e2e-${name}-alice-${suffix}`, token: randomBytes(24).toString("hex") };
  const bob = { principal: `e2e-${name}-bob-${suffix}`, token: randomBytes(24).toString("hex") };
  const network = `devhatchery-e2e-${name}-${suffix}`;
  const server = await startControlPlane({
    DEVHATCHERY_BEARER_TOKENS: `${alice.principal}:${alice.token},${bob.principal}:${bob.token}`,
    DEVHATCHERY_RUNNER_NETWORK: network,
  });
  const clients: Client[] = [];
  const close = async (): Promise<number | null> => {
    await Promise.all(clients.map((client) => client.close()));
    const code = await server.stop();
    await removeTestRunners([alice.principal, bob.principal], network);
    return code;
  };
  try {
    clients.push(await connectClient(server.url, alice.token), await connectClient(server.url, bob.token));
    const [asAlice, asBob] = clients as [Client, Client];
    const spawned = await callTool(asAlice, "runner_spawn", {});
    if (spawned.result.isError) throw new Error(`runner_spawn failed: ${JSON.stringify(spawned.result.content)}`);
    return { server, asAlice, asBob, runnerId: spawned.structured.runner_id as string, close };
  } catch (error) {
    await close();
    throw error;
  }
}
