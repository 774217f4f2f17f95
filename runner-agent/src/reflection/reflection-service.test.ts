import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authMetadata, startAgentHarness, type AgentHarness } from "../../test/agent-harness.js";
import { askReflection } from "../../test/reflection-client.js";

describe("gRPC server reflection", () => {
  let agent: AgentHarness;
  let address: string;
  beforeAll(async () => {
    agent = await startAgentHarness();
    address = `127.0.0.1:${agent.server.port}`;
  });
  afterAll(async () => {
    await agent.close();
  });

  it("lists the agent's services", async () => {
    const response = await askReflection(address, authMetadata(), { listServices: "" });
    const names = response.listServicesResponse?.service.map((service) => service.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining([
        "devhatchery.agent.v1.ExecService",
        "devhatchery.agent.v1.FsService",
        "devhatchery.agent.v1.TokenService",
        "grpc.health.v1.Health",
      ]),
    );
  });

  it("returns the file defining a symbol, so clients can call methods by name", async () => {
    const response = await askReflection(address, authMetadata(), {
      fileContainingSymbol: "devhatchery.agent.v1.ExecService",
    });
    const files = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.concat(files).toString("latin1")).toContain("devhatchery.agent.v1");
  });

  it("sits behind the runner token like every other service", async () => {
    await expect(askReflection(address, new Metadata(), { listServices: "" })).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });
});
