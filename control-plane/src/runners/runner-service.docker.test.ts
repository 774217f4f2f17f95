import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImage } from "../../test/build-test-image.js";
import { buildImpostorImage, countRunners, docker, removeTestRunners } from "../../test/docker-cleanup.js";
import {
  createRunnerServiceFixture,
  DEBIAN_IMAGE,
  RUNNER_IMAGE,
  type RunnerServiceFixture,
} from "../../test/runner-service-fixture.js";
import type { Principal } from "./runner.js";

/** Claims a baked agent (the label) but has none, so the agent is not injected and the runner cannot become ready. */
const NO_AGENT_IMAGE = `devhatchery-test/agentless-labelled:${randomBytes(4).toString("hex")}`;

describe("RunnerService against the real Docker engine", () => {
  let fx: RunnerServiceFixture;
  let alice: Principal;
  let bob: Principal;

  beforeAll(async () => {
    fx = await createRunnerServiceFixture();
    alice = fx.principal("alice");
    bob = fx.principal("bob");
    await fx.runtime.engine.ping();
    await buildTestImage({
      tag: NO_AGENT_IMAGE,
      context: { dockerfile: `FROM ${DEBIAN_IMAGE}\nLABEL io.devhatchery.agent.version="impostor"\n` },
    });
  });
  afterAll(async () => {
    await fx?.cleanup();
    await docker
      .getImage(NO_AGENT_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("spawns a labelled, locked-down runner on a private network and runs commands in it", async () => {
    const phases: string[] = [];
    const runner = await fx.runners.spawn(alice, {}, (progress) => phases.push(progress.phase));
    expect(phases).toEqual(["creating", "starting", "ready"]);
    expect(runner).toMatchObject({
      image: RUNNER_IMAGE,
      status: "ready",
      storage: "volume",
      workspaceKey: runner.runnerId,
      profile: "default",
      network: true,
    });

    const info = await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect();
    expect(info.Config.Labels).toMatchObject({
      "io.devhatchery.managed": "true",
      "io.devhatchery.kind": "runner",
      "io.devhatchery.owner": alice.id,
      "io.devhatchery.runner": runner.runnerId,
      "io.devhatchery.created": runner.createdAt,
      "io.devhatchery.workspace": runner.runnerId,
      "io.devhatchery.storage": "volume",
    });
    expect(info.HostConfig).toMatchObject({
      Init: true,
      NetworkMode: fx.network,
      SecurityOpt: ["no-new-privileges:true"],
      PidsLimit: 4096,
      Memory: 2048 * 1024 * 1024,
      NanoCpus: 2e9,
    });
    expect(info.HostConfig.CapDrop).toEqual(expect.arrayContaining(["NET_RAW", "MKNOD"]));
    const net = await docker.getNetwork(fx.network).inspect();
    expect(net.Options).toMatchObject({ "com.docker.network.bridge.enable_icc": "false" });
    expect(net.Labels).toMatchObject({ "io.devhatchery.managed": "true" });

    const result = await fx.execs.run(alice, runner.runnerId, { command: "echo $((6*7)); cat /proc/1/comm" }, () => {});
    expect(result).toMatchObject({ exitCode: 0, reason: "exited", stdout: "42\ndocker-init\n" });
    expect(fx.audit).toContainEqual(
      expect.objectContaining({
        action: "runner.spawn",
        principal: alice.id,
        outcome: "ok",
        runner: runner.runnerId,
        image: RUNNER_IMAGE,
        storage: "volume",
        workspace: runner.runnerId,
      }),
    );
  });

  it("passes env to the runner's processes and records only the names in the audit log", async () => {
    const runner = await fx.runners.spawn(alice, { env: { GREETING: "hello-secret-value" }, cpus: 1, memoryMb: 256 });
    const result = await fx.execs.run(alice, runner.runnerId, { command: "echo $GREETING" }, () => {});
    expect(result.stdout).toBe("hello-secret-value\n");
    expect(runner.limits).toEqual({ cpus: 1, memoryMb: 256, pids: 4096 });
    const spawned = fx.audit.find((event) => event.action === "runner.spawn" && event.runner === runner.runnerId);
    expect(spawned).toMatchObject({ env: ["GREETING"] });
    expect(JSON.stringify(fx.audit)).not.toContain("hello-secret-value");
  });

  it("creates the runner network once when spawns race on a fresh control plane", async () => {
    const racing = `${fx.network}-race`;
    const racer = fx.principal("racer");
    const fresh = fx.service({ network: racing });
    try {
      await Promise.all([fresh.spawn(racer, {}), fresh.spawn(racer, {}), fresh.spawn(racer, {})]);
      expect(
        (await docker.listNetworks({ filters: { name: [racing] } })).filter((entry) => entry.Name === racing),
      ).toHaveLength(1);
    } finally {
      await removeTestRunners([racer.id], racing);
    }
  });

  it("hides a runner from every other principal as not found, by id, alias and workspace key", async () => {
    const runner = await fx.runners.spawn(alice, { alias: "hidden", workspaceKey: "hidden-ws" });
    for (const ref of [runner.runnerId, "hidden", "hidden-ws"]) {
      const notFound = {
        code: "NOT_FOUND",
        message: `Runner "${ref}" not found for this principal; spawn one with runner_spawn.`,
      };
      await expect(fx.execs.run(bob, ref, { command: "true" }, () => {})).rejects.toMatchObject(notFound);
      await expect(fx.runners.get(bob, ref)).rejects.toMatchObject(notFound);
      await expect(fx.runners.stop(bob, ref)).rejects.toMatchObject(notFound);
      await expect(fx.runners.remove(bob, ref, { removeVolume: true })).rejects.toMatchObject(notFound);
      await expect(fx.runners.attach(bob, ref)).rejects.toMatchObject(notFound);
      await expect(fx.runners.resolveRunnerId(bob, ref)).rejects.toMatchObject(notFound);
    }
    await expect(fx.runners.removeWorkspace(bob, "hidden-ws")).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: 'Workspace "hidden-ws" not found for this principal; list your workspaces with volume_list.',
    });
    expect(await fx.runners.list(bob)).toEqual([]);
    expect(await fx.runners.listWorkspaces(bob)).toEqual([]);
    expect((await fx.runners.get(alice, "hidden")).status).toBe("ready");
    await expect(fx.runners.remove(alice, runner.runnerId, { removeVolume: true })).resolves.toMatchObject({
      runner: { runnerId: runner.runnerId },
      volumeRemoved: true,
    });
    await expect(fx.runners.remove(alice, runner.runnerId)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses a ref that cannot name a runner", async () => {
    await expect(fx.runners.get(alice, "no/such ref")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message:
        '"no/such ref" is not a runner id, alias or workspace key (a runner id is "r-" and 12 hex digits; aliases and keys are letters, digits, ".", "_" and "-"); list your runners with runner_list.',
    });
  });

  it("keeps runners from reaching each other's agents", async () => {
    const first = await fx.runners.spawn(alice, {});
    const second = await fx.runners.spawn(alice, {});
    const target = (await docker.getContainer(`devhatchery-${second.runnerId}`).inspect()).NetworkSettings.Networks[
      fx.network
    ]?.IPAddress;
    expect(target).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = await fx.execs.run(
      alice,
      first.runnerId,
      { command: `timeout 3 bash -c 'echo > /dev/tcp/${target}/7070' && echo reachable || echo blocked` },
      () => {},
    );
    expect(probe.stdout).toBe("blocked\n");
  });

  it("creates nothing when the policy denies a spawn, and audits the denial", async () => {
    const carol = fx.principal("carol");
    const limited = fx.service({
      limits: {
        defaults: { cpus: 1, memoryMb: 256, pids: 512 },
        max: { cpus: 2, memoryMb: 1024, pids: 1024 },
        maxRunnersPerPrincipal: 1,
        tmpfsMb: 64,
      },
    });
    await expect(limited.spawn(carol, { memoryMb: 16384 })).rejects.toMatchObject({
      code: "POLICY_DENIED",
      message: "memory_mb 16384 is above this server's maximum of 1024; ask for 1024 or less.",
    });
    expect(await countRunners(carol.id)).toBe(0);
    expect(await limited.list(carol)).toEqual([]);
    expect(await limited.listWorkspaces(carol)).toEqual([]);
    expect(fx.audit).toContainEqual(
      expect.objectContaining({
        action: "policy.denied",
        principal: carol.id,
        outcome: "denied",
        what: "memory_mb",
        limit: 1024,
      }),
    );

    await limited.spawn(carol, { storage: "tmpfs" });
    await expect(limited.spawn(carol, {})).rejects.toMatchObject({
      code: "POLICY_DENIED",
      message:
        "You already have 1 runners, this server's maximum of 1 per principal; remove runners you no longer need with runner_remove, then spawn again.",
    });
    expect(await countRunners(carol.id)).toBe(1);
    expect(await limited.listWorkspaces(carol)).toEqual([]);
  });

  it("removes a runner whose agent never becomes ready, says why, and shows the failed spawn", async () => {
    const before = await countRunners(alice.id);
    const error = await fx.runners.spawn(alice, { image: NO_AGENT_IMAGE, alias: "doomed" }).catch((e: unknown) => e);
    const message =
      `Runner from image "${NO_AGENT_IMAGE}" did not become ready and was removed: the agent exited (container exited, exit code 0)\n` +
      "The agent wrote no log lines; check that the image contains the DevHatchery agent (images/README.md).";
    expect(error).toMatchObject({ code: "RUNNER_START_FAILED", message });
    expect(await countRunners(alice.id)).toBe(before);
    const failed = await fx.runners.get(alice, "doomed");
    expect(failed).toMatchObject({ status: "failed", error: message, image: NO_AGENT_IMAGE });
    expect((await fx.runners.list(alice)).find((runner) => runner.runnerId === failed.runnerId)).toMatchObject({
      status: "failed",
    });
    // Its freshly made, never used workspace went with it; the alias is free again.
    expect((await fx.runners.listWorkspaces(alice)).map((workspace) => workspace.workspaceKey)).not.toContain(
      failed.runnerId,
    );
    await expect(fx.runners.connect(alice, "doomed")).rejects.toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message: `Runner "doomed" failed to start: ${message}\nRemove it with runner_remove and spawn a new one with runner_spawn.`,
    });
    await expect(fx.runners.remove(alice, failed.runnerId)).resolves.toMatchObject({ volumeRemoved: false });
    await expect(fx.runners.get(alice, failed.runnerId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(fx.audit).toContainEqual(
      expect.objectContaining({
        action: "runner.spawn",
        outcome: "failed",
        runner: failed.runnerId,
        code: "RUNNER_START_FAILED",
      }),
    );
  });

  it("includes the agent's last log lines when it crashes at start-up", async () => {
    const crashing = `devhatchery-test/crashing-agent:${fx.suffix}`;
    await buildImpostorImage(crashing, NO_AGENT_IMAGE, "echo 'agent exploded: no such config' >&2; exit 3");
    try {
      const before = await countRunners(alice.id);
      const error = await fx.runners.spawn(alice, { image: crashing }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: "RUNNER_START_FAILED",
        message: `Runner from image "${crashing}" did not become ready and was removed: the agent exited (container exited, exit code 3)\nLast agent log lines:\nagent exploded: no such config`,
      });
      expect(await countRunners(alice.id)).toBe(before);
    } finally {
      await docker
        .getImage(crashing)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it("removes a runner whose agent does not answer within the ready timeout", async () => {
    const silent = `devhatchery-test/silent-agent:${fx.suffix}`;
    await buildImpostorImage(silent, NO_AGENT_IMAGE, "echo 'listening, honestly'; exec sleep 600");
    try {
      const impatient = fx.service({ readyTimeoutMs: 1_000 });
      const before = await countRunners(alice.id);
      const error = await impatient.spawn(alice, { image: silent }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: "RUNNER_START_FAILED",
        message: `Runner from image "${silent}" did not become ready and was removed: the agent did not answer its health check within 1000 ms (nothing listens on its port)\nLast agent log lines:\nlistening, honestly`,
      });
      expect(await countRunners(alice.id)).toBe(before);
    } finally {
      await docker
        .getImage(silent)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it("passes on a pull failure from an unreachable registry, creating nothing and keeping the failed spawn", async () => {
    const image = "127.0.0.1:1/devhatchery-test/none:nope";
    const before = await countRunners(alice.id);
    const error = await fx.runners.spawn(alice, { image, alias: "unpullable" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "IMAGE_PULL_FAILED" });
    expect((error as Error).message).toContain(`"${image}"`);
    expect(await countRunners(alice.id)).toBe(before);
    await expect(fx.runners.get(alice, "unpullable")).resolves.toMatchObject({
      status: "failed",
      error: (error as Error).message,
    });
    await fx.runners.remove(alice, "unpullable");
  });
});
