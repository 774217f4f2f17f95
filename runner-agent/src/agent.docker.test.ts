import { randomBytes } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecServiceClient, ExitReason, OutputStream, type ExecEvent } from "@devhatchery/proto/agent/v1/exec";
import { FsServiceClient } from "@devhatchery/proto/agent/v1/fs";
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type HealthCheckResponse,
} from "@devhatchery/proto/health/v1";
import { authMetadata, collectExec, readAll, writeStreamed } from "../test/agent-harness.js";
import { askReflection } from "../test/reflection-client.js";

/** The offline test runner image built by images/build-test-images.sh (agent baked in, Debian base). */
const RUNNER_IMAGE = "devhatchery-test/runner:dev";

function stdoutOf(events: ExecEvent["event"][]): string {
  return events
    .map((event) =>
      event?.$case === "output" && event.value.stream === OutputStream.OUTPUT_STREAM_STDOUT
        ? Buffer.from(event.value.data).toString()
        : "",
    )
    .join("");
}

describe("the agent in a real runner container", () => {
  const token = randomBytes(32).toString("base64url");
  let container: StartedTestContainer;
  let exec: ExecServiceClient;
  let fs: FsServiceClient;
  let health: HealthClient;

  beforeAll(async () => {
    container = await new GenericContainer(RUNNER_IMAGE)
      .withEnvironment({ DEVHATCHERY_AGENT_TOKEN: token })
      .withLabels({ "io.devhatchery.test": "agent-docker" })
      .withExposedPorts(7070)
      .withWaitStrategy(Wait.forLogMessage("runner agent listening"))
      .withPullPolicy({ shouldPull: () => false })
      .start();
    const address = `127.0.0.1:${container.getMappedPort(7070)}`;
    exec = new ExecServiceClient(address, credentials.createInsecure());
    fs = new FsServiceClient(address, credentials.createInsecure());
    health = new HealthClient(address, credentials.createInsecure());
  });

  afterAll(async () => {
    exec?.close();
    fs?.close();
    health?.close();
    // The last test stops the container itself, so remove it by id rather than through stop().
    if (container) {
      const runtime = await getContainerRuntimeClient();
      await runtime.container
        .getById(container.getId())
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it("is healthy with the runner's token and refuses everyone else", async () => {
    const check = (metadata = authMetadata(token)) =>
      new Promise<HealthCheckResponse>((resolve, reject) =>
        health.check({ service: "" }, metadata, (error, response) => (error ? reject(error) : resolve(response))),
      );
    expect((await check()).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(check(authMetadata("not-the-token"))).rejects.toMatchObject({ code: 16 });
  });

  it("serves gRPC reflection from the bundled agent, so grpcurl can list and call its services", async () => {
    const response = await askReflection(`127.0.0.1:${container.getMappedPort(7070)}`, authMetadata(token), {
      listServices: "",
    });
    expect(response.listServicesResponse?.service.map((service) => service.name)).toEqual(
      expect.arrayContaining([
        "devhatchery.agent.v1.ExecService",
        "devhatchery.agent.v1.FsService",
        "grpc.health.v1.Health",
      ]),
    );
  });

  it("runs commands in the image's userland with /work as the default directory", async () => {
    const events = await collectExec(
      exec,
      { shell: ". /etc/os-release && echo $ID && pwd && id -u" },
      authMetadata(token),
    );
    expect(stdoutOf(events)).toBe("debian\n/work\n0\n");
    expect(events.at(-1)).toMatchObject({
      $case: "exited",
      value: { reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 },
    });
  });

  it("keeps the token out of every process it starts", async () => {
    const events = await collectExec(
      exec,
      { shell: `env; cat /proc/self/environ | tr '\\0' '\\n'` },
      authMetadata(token),
    );
    expect(stdoutOf(events)).not.toContain(token);
    expect(stdoutOf(events)).not.toContain("DEVHATCHERY_AGENT_TOKEN");
  });

  it("writes, reads and lists files inside the container", async () => {
    await writeStreamed(fs, { path: "proj/readme.md", createParents: true }, Buffer.from("# hi\n"), {
      metadata: authMetadata(token),
    });
    expect((await readAll(fs, { path: "/work/proj/readme.md" }, authMetadata(token))).data.toString()).toBe("# hi\n");
    const events = await collectExec(exec, { shell: "cat /work/proj/readme.md" }, authMetadata(token));
    expect(stdoutOf(events)).toBe("# hi\n");
  });

  it("shuts down cleanly on SIGTERM", async () => {
    await container.stop({ remove: false, timeout: 10_000 });
    const logs = await new Promise<string>((resolve) => {
      let text = "";
      container
        .logs()
        .then((stream) => {
          stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
          stream.on("end", () => resolve(text));
        })
        .catch(() => resolve(text));
    });
    expect(logs).toContain('"msg":"shutting down"');
    expect(logs).toContain('"msg":"runner agent stopped"');
  });
});
