import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus, type HealthCheckResponse } from "@devhatchery/proto/health/v1";
import {
  authMetadata,
  collectExec,
  readAll,
  startAgentHarness,
  TEST_TOKEN,
  type AgentHarness,
} from "../test/agent-harness.js";

describe("the runner token guard", () => {
  let agent: AgentHarness;
  beforeAll(async () => {
    agent = await startAgentHarness();
  });
  afterAll(async () => {
    await agent.close();
  });

  const check = (metadata: Metadata, service = ""): Promise<HealthCheckResponse> =>
    new Promise((resolve, reject) =>
      agent.health.check({ service }, metadata, (error, response) => (error ? reject(error) : resolve(response))),
    );

  const unauthenticated = {
    code: status.UNAUTHENTICATED,
    details: "missing or invalid runner token: send `authorization: Bearer <token>` metadata",
  };

  it("answers health with the right token", async () => {
    expect((await check(authMetadata())).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await check(authMetadata(), "devhatchery.agent.v1.ExecService")).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    expect((await check(authMetadata(), "no.such.Service")).status).toBe(
      HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN,
    );
  });

  it("rejects calls without a token on every service", async () => {
    await expect(check(new Metadata())).rejects.toMatchObject(unauthenticated);
    await expect(collectExec(agent.exec, { shell: "true" }, new Metadata())).rejects.toMatchObject(unauthenticated);
    await expect(readAll(agent.fs, { path: "." }, new Metadata())).rejects.toMatchObject(unauthenticated);
  });

  it("rejects a wrong token, a token of another length and a header without the Bearer scheme", async () => {
    await expect(check(authMetadata(`${TEST_TOKEN.slice(0, -1)}x`))).rejects.toMatchObject(unauthenticated);
    await expect(check(authMetadata("short"))).rejects.toMatchObject(unauthenticated);
    const raw = new Metadata();
    raw.set("authorization", TEST_TOKEN);
    await expect(check(raw)).rejects.toMatchObject(unauthenticated);
  });

  it("does not run a command sent with a wrong token", async () => {
    const marker = `${agent.workDir}/should-not-exist`;
    await expect(
      collectExec(agent.exec, { shell: `touch ${marker}` }, authMetadata("wrong-token")),
    ).rejects.toMatchObject(unauthenticated);
    await expect(import("node:fs").then((fs) => fs.existsSync(marker))).resolves.toBe(false);
  });
});
