import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentDeliveryFixture, type AgentDeliveryFixture } from "../../../test/agent-delivery-fixture.js";
import { buildTestImage } from "../../../test/build-test-image.js";
import { captureLog } from "../../../test/captured-log.js";
import { docker, removeTestRunners } from "../../../test/docker-cleanup.js";
import { DockerRuntime } from "../../runtime/docker-runtime.js";
import { createSqliteStateStore } from "../../store/sqlite-state-store.js";
import { ExecService } from "../exec/exec-service.js";
import { RunnerService, type SpawnProgress } from "../runner-service.js";

const EXAMPLE_DIR = fileURLToPath(new URL("../../../../images/examples/python-dev", import.meta.url));

describe("an operator's custom image built from the documented recipe (images/examples/python-dev)", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { id: `test-custom-${suffix}` };
  const network = `devhatchery-test-${suffix}`;
  const tag = `devhatchery-test/python-dev:${suffix}`;
  const { log, lines } = captureLog();
  let fixture: AgentDeliveryFixture;
  let runners: RunnerService;
  let execs: ExecService;

  beforeAll(async () => {
    fixture = await createAgentDeliveryFixture(suffix);
    runners = new RunnerService(
      new DockerRuntime(log, undefined, fixture.options()),
      createSqliteStateStore(":memory:"),
      { defaultImage: tag, network, readyTimeoutMs: 20_000 },
      log,
    );
    execs = new ExecService(runners, log);
    // Offline: the same build args as images/build-test-images.sh, local bases only, the legacy builder.
    await buildTestImage({
      tag,
      context: { dir: EXAMPLE_DIR },
      buildArgs: {
        BASE_IMAGE: "devhatchery-test/debian:bookworm",
        AGENT_IMAGE: "devhatchery-test/agent:dev",
        AGENT_VERSION: "example",
      },
    });
  });
  afterAll(async () => {
    runners?.close();
    await removeTestRunners([alice.id], network);
    await fixture?.cleanup();
    // noprune keeps the intermediate layers as build cache, so the next run does not download Python again.
    await docker
      .getImage(tag)
      .remove({ force: true, noprune: true })
      .catch(() => undefined);
  });

  it("carries the agent label, spawns with the baked agent and has the image's own tool", async () => {
    const image = await docker.getImage(tag).inspect();
    expect(image.Config.Labels).toMatchObject({ "io.devhatchery.agent.version": "example" });
    expect(image.Config.Entrypoint).toEqual(["/opt/devhatchery/bin/node", "/opt/devhatchery/agent.cjs"]);

    const progress: SpawnProgress[] = [];
    const runner = await runners.spawn(alice, {}, (event) => progress.push(event));
    expect(progress.map((event) => event.phase)).toEqual(["creating", "starting", "ready"]);
    expect(runner).toMatchObject({ image: tag, status: "ready" });
    const info = await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect();
    // Baked delivery: no agent volume; /work is the runner's workspace volume, beside the agent's spill volume.
    expect(info.Mounts?.map((mount) => mount.Destination).sort()).toEqual(["/var/tmp/devhatchery-agent", "/work"]);

    const result = await execs.run(
      alice,
      runner.runnerId,
      { command: "pwd; python3 -c 'import sys; print(sys.version_info >= (3, 11), 6 * 7)'" },
      () => {},
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: "/work\nTrue 42\n", stderr: "" });

    // The image's agent label ("example") is not this control plane's version: one warning saying how to rebuild.
    const warnings = lines().filter(
      (line) => line.level === 40 && String(line.msg).startsWith(`Image "${tag}" carries agent example baked in`),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      runner: runner.runnerId,
      agentVersion: "example",
      controlPlaneVersion: expect.any(String),
    });
  });
});
