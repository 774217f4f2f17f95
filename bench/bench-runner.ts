import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { AgentClient } from "../control-plane/dist/agent-client/agent-client.js";

/** A runner container started for a benchmark (same settings as the control plane's), reached over its bridge IP. */
export interface BenchRunner {
  docker: Docker;
  container: Docker.Container;
  address: string;
  token: string;
  agent: AgentClient;
  close(): Promise<void>;
}

export async function startBenchRunner(image: string): Promise<BenchRunner> {
  const docker = new Docker();
  const suffix = randomBytes(4).toString("hex");
  const network = `devhatchery-bench-${suffix}`;
  const token = randomBytes(32).toString("base64url");
  await docker.createNetwork({ Name: network, Driver: "bridge", Labels: { "io.devhatchery.bench": "true" } });
  const container = await docker.createContainer({
    name: `devhatchery-bench-${suffix}`,
    Image: image,
    Env: [`DEVHATCHERY_AGENT_TOKEN=${token}`],
    Labels: { "io.devhatchery.bench": "true" },
    HostConfig: { Init: true, NetworkMode: network },
  });
  const close = async (): Promise<void> => {
    await container.remove({ force: true }).catch(() => undefined);
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
  };
  try {
    await container.start();
    const address = (await container.inspect()).NetworkSettings.Networks[network]?.IPAddress ?? "";
    const agent = new AgentClient("bench", `${address}:7070`, token);
    const deadline = Date.now() + 30_000;
    while (!(await agent.health.isServing(500))) {
      if (Date.now() > deadline) throw new Error(`the agent in ${image} did not become ready within 30 s`);
    }
    return {
      docker,
      container,
      address,
      token,
      agent,
      close: async () => {
        agent.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
