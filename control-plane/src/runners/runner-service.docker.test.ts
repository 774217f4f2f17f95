import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentDeliveryFixture, type AgentDeliveryFixture } from "../../test/agent-delivery-fixture.js";
import { buildTestImage } from "../../test/build-test-image.js";
import { buildImpostorImage, countRunners, docker, removeTestRunners } from "../../test/docker-cleanup.js";
import { createLogger } from "../log.js";
import { DockerRuntime } from "../runtime/docker-runtime.js";
import { ExecService } from "./exec-service.js";
import { RunnerService } from "./runner-service.js";

const RUNNER_IMAGE = "devhatchery-test/runner:dev";
const DEBIAN_IMAGE = "devhatchery-test/debian:bookworm";
/** Claims a baked agent (the label) but has none, so the agent is not injected and the runner cannot become ready. */
const NO_AGENT_IMAGE = `devhatchery-test/agentless-labelled:${randomBytes(4).toString("hex")}`;

describe("RunnerService against the real Docker engine", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { id: `test-alice-${suffix}` };
  const bob = { id: `test-bob-${suffix}` };
  const network = `devhatchery-test-${suffix}`;
  const log = createLogger("silent");
  let agentDelivery: AgentDeliveryFixture;
  let runtime: DockerRuntime;
  let runners: RunnerService;
  let execs: ExecService;

  beforeAll(async () => {
    agentDelivery = await createAgentDeliveryFixture(suffix);
    runtime = new DockerRuntime(log, undefined, agentDelivery.options());
    runners = new RunnerService(runtime, { defaultImage: RUNNER_IMAGE, network, readyTimeoutMs: 15_000 }, log);
    execs = new ExecService(runners, log);
    await runtime.ping();
    await buildTestImage({ tag: NO_AGENT_IMAGE, context: { dockerfile: `FROM ${DEBIAN_IMAGE}\nLABEL io.devhatchery.agent.version="impostor"\n` } });
  });
  afterAll(async () => {
    runners?.close();
    await removeTestRunners([alice.id, bob.id], network);
    await agentDelivery?.cleanup();
    await docker.getImage(NO_AGENT_IMAGE).remove({ force: true }).catch(() => undefined);
  });

  it("spawns a labelled, locked-down runner on a private network and runs commands in it", async () => {
    const phases: string[] = [];
    const runner = await runners.spawn(alice, {}, (progress) => phases.push(progress.phase));
    expect(phases).toEqual(["creating", "starting", "ready"]);
    expect(runner).toMatchObject({ image: RUNNER_IMAGE, status: "ready" });

    const info = await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect();
    expect(info.Config.Labels).toMatchObject({
      "io.devhatchery.managed": "true",
      "io.devhatchery.kind": "runner",
      "io.devhatchery.owner": alice.id,
      "io.devhatchery.runner": runner.runnerId,
      "io.devhatchery.created": runner.createdAt,
    });
    expect(info.HostConfig).toMatchObject({ Init: true, NetworkMode: network, SecurityOpt: ["no-new-privileges:true"], PidsLimit: 4096 });
    expect(info.HostConfig.CapDrop).toEqual(expect.arrayContaining(["NET_RAW", "MKNOD"]));
    const net = await docker.getNetwork(network).inspect();
    expect(net.Options).toMatchObject({ "com.docker.network.bridge.enable_icc": "false" });
    expect(net.Labels).toMatchObject({ "io.devhatchery.managed": "true" });

    const result = await execs.run(alice, runner.runnerId, { command: "echo $((6*7)); cat /proc/1/comm" }, () => {});
    expect(result).toMatchObject({ exitCode: 0, reason: "exited", stdout: "42\ndocker-init\n" });
  });

  it("creates the runner network once when spawns race on a fresh control plane", async () => {
    const racing = `${network}-race`;
    const racer = { id: `test-racer-${suffix}` };
    const fresh = new RunnerService(new DockerRuntime(log, undefined, agentDelivery.options()), { defaultImage: RUNNER_IMAGE, network: racing, readyTimeoutMs: 15_000 }, log);
    try {
      await Promise.all([fresh.spawn(racer, {}), fresh.spawn(racer, {}), fresh.spawn(racer, {})]);
      expect((await docker.listNetworks({ filters: { name: [racing] } })).filter((entry) => entry.Name === racing)).toHaveLength(1);
    } finally {
      fresh.close();
      await removeTestRunners([racer.id], racing);
    }
  });

  it("hides a runner from every other principal as not found", async () => {
    const runner = await runners.spawn(alice, {});
    const message = `Runner "${runner.runnerId}" not found for this principal; spawn one with runner_spawn.`;
    await expect(execs.run(bob, runner.runnerId, { command: "true" }, () => {})).rejects.toMatchObject({ code: "NOT_FOUND", message });
    await expect(runners.remove(bob, runner.runnerId)).rejects.toMatchObject({ code: "NOT_FOUND", message });
    await expect(runners.remove(alice, runner.runnerId)).resolves.toMatchObject({ runnerId: runner.runnerId });
    await expect(runners.remove(alice, runner.runnerId)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("keeps runners from reaching each other's agents", async () => {
    const first = await runners.spawn(alice, {});
    const second = await runners.spawn(alice, {});
    const target = (await docker.getContainer(`devhatchery-${second.runnerId}`).inspect()).NetworkSettings.Networks[network]?.IPAddress;
    expect(target).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = await execs.run(alice, first.runnerId, { command: `timeout 3 bash -c 'echo > /dev/tcp/${target}/7070' && echo reachable || echo blocked` }, () => {});
    expect(probe.stdout).toBe("blocked\n");
  });

  it("removes a runner whose agent never becomes ready and says why", async () => {
    const before = await countRunners(alice.id);
    const error = await runners.spawn(alice, { image: NO_AGENT_IMAGE }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RUNNER_START_FAILED" });
    expect((error as Error).message).toBe(
      `Runner from image "${NO_AGENT_IMAGE}" did not become ready and was removed: the agent exited (container exited, exit code 0)\n` +
        "The agent wrote no log lines; check that the image contains the DevHatchery agent (images/README.md).",
    );
    expect(await countRunners(alice.id)).toBe(before);
  });

  it("includes the agent's last log lines when it crashes at start-up", async () => {
    const crashing = "devhatchery-test/crashing-agent:dev";
    await buildImpostorImage(crashing, NO_AGENT_IMAGE, "echo 'agent exploded: no such config' >&2; exit 3");
    const before = await countRunners(alice.id);
    const error = await runners.spawn(alice, { image: crashing }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RUNNER_START_FAILED" });
    expect((error as Error).message).toBe(
      `Runner from image "${crashing}" did not become ready and was removed: the agent exited (container exited, exit code 3)\nLast agent log lines:\nagent exploded: no such config`,
    );
    expect(await countRunners(alice.id)).toBe(before);
    await docker.getImage(crashing).remove({ force: true }).catch(() => undefined);
  });

  it("removes a runner whose agent does not answer within the ready timeout", async () => {
    const silent = "devhatchery-test/silent-agent:dev";
    await buildImpostorImage(silent, NO_AGENT_IMAGE, "echo 'listening, honestly'; exec sleep 600");
    const impatient = new RunnerService(runtime, { defaultImage: RUNNER_IMAGE, network, readyTimeoutMs: 1_000 }, log);
    const before = await countRunners(alice.id);
    const error = await impatient.spawn(alice, { image: silent }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RUNNER_START_FAILED" });
    expect((error as Error).message).toBe(
      `Runner from image "${silent}" did not become ready and was removed: the agent did not answer its health check within 1000 ms\nLast agent log lines:\nlistening, honestly`,
    );
    expect(await countRunners(alice.id)).toBe(before);
    await docker.getImage(silent).remove({ force: true }).catch(() => undefined);
  });

  it("explains an image that is neither present nor pullable", async () => {
    const error = await runners.spawn(alice, { image: "devhatchery-test/does-not-exist:nope" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IMAGE_NOT_FOUND" });
    expect((error as Error).message).toMatch(/^Image "devhatchery-test\/does-not-exist:nope" is not present locally and could not be pulled \(.+\)\. Check the name and tag/);
  });
});
