import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../test/docker-cleanup.js";
import {
  createRunnerServiceFixture,
  dockerExec,
  eventually,
  RUNNER_IMAGE,
  type RunnerServiceFixture,
} from "../../test/runner-service-fixture.js";
import { PassThrough } from "node:stream";
import { createLogger } from "../log.js";
import { ExecService } from "./exec/exec-service.js";
import { prepullImages } from "./spawn/image-prepull.js";
import { RESTARTED_DURING_SPAWN } from "./runner-reconciler.js";
import type { Principal } from "./runner.js";

describe("Runner events and reconciliation against the real Docker engine", () => {
  let fx: RunnerServiceFixture;
  let alice: Principal;

  beforeAll(async () => {
    fx = await createRunnerServiceFixture();
    alice = fx.principal("alice");
    fx.runners.startBackgroundWork([]);
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  it("notices an agent killed inside its runner, reports it stopped with the exit, and attach brings it back", async () => {
    const runner = await fx.runners.spawn(alice, { alias: "victim" });
    await fx.execs.run(alice, "victim", { command: "echo survivor > /work/file" }, () => {});
    let changed = false;
    const stop = fx.runners.onRunnerChange((principal, runnerId) => {
      if (principal === alice.id && runnerId === runner.runnerId) changed = true;
    });
    try {
      // The agent is the only child of Docker's init (PID 1); SIGKILL it from outside the agent.
      await dockerExec(runner.runnerId, "kill -9 $(cat /proc/1/task/1/children)");
      await eventually("the die event", async () => changed);
    } finally {
      stop();
    }
    await expect(fx.runners.get(alice, "victim")).resolves.toMatchObject({
      status: "stopped",
      exitCode: 137,
      error: "the agent exited (exit code 137)",
    });
    // The cached connection was dropped on the event: calls now say what happened and the way out.
    await expect(fx.execs.run(alice, "victim", { command: "true" }, () => {})).rejects.toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message:
        'Runner "victim" is stopped (the agent exited (exit code 137)), not running; start it again with runner_attach (runner: "victim").',
    });
    await expect(fx.runners.attach(alice, "victim")).resolves.toMatchObject({
      action: "started",
      runner: { runnerId: runner.runnerId, status: "ready" },
    });
    expect((await fx.execs.run(alice, "victim", { command: "cat /work/file" }, () => {})).stdout).toBe("survivor\n");
    await fx.runners.remove(alice, "victim", { removeVolume: true });
  });

  it("reconciles after a crash: fails spawns left starting, removes never-started runners, adopts running ones", async () => {
    const survivor = await fx.runners.spawn(alice, { alias: "survivor" });

    // A spawn a crashed control plane had recorded as starting, whose container never came to be.
    const lostId = `r-${randomBytes(6).toString("hex")}`;
    const createdAt = new Date().toISOString();
    const expiresAt = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    fx.store.recordSpawn({
      runnerId: lostId,
      principal: alice.id,
      image: RUNNER_IMAGE,
      workspaceKey: lostId,
      alias: "lost",
      status: "starting",
      error: undefined,
      createdAt,
      expiresAt,
    });

    // A runner container created long ago and never started (it holds no user data).
    const orphanId = `r-${randomBytes(6).toString("hex")}`;
    const old = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    await docker.createContainer({
      name: `devhatchery-${orphanId}`,
      Image: RUNNER_IMAGE,
      Labels: {
        "io.devhatchery.managed": "true",
        "io.devhatchery.kind": "runner",
        "io.devhatchery.owner": alice.id,
        "io.devhatchery.runner": orphanId,
        "io.devhatchery.created": old,
        "io.devhatchery.instance": "default",
      },
    });

    const restarted = fx.service({}, fx.reopenStore());
    const report = await restarted.reconcile();
    expect(report.failedSpawns).toBe(1);
    expect(report.removedOrphans).toBeGreaterThanOrEqual(1);
    expect(report.adopted).toBeGreaterThanOrEqual(1);

    await expect(restarted.get(alice, "lost")).resolves.toMatchObject({
      runnerId: lostId,
      status: "failed",
      error: RESTARTED_DURING_SPAWN,
    });
    await expect(docker.getContainer(`devhatchery-${orphanId}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    // The running runner is adopted: the restarted control plane reaches its agent.
    const execs = new ExecService(restarted, fx.log);
    expect((await execs.run(alice, "survivor", { command: "echo adopted" }, () => {})).stdout).toBe("adopted\n");
    expect((await restarted.get(alice, survivor.runnerId)).status).toBe("ready");
    await restarted.remove(alice, "lost");
    await restarted.remove(alice, "survivor", { removeVolume: true });
  });

  it("prepulls in the background, logging a final line per image and explaining failures without throwing", async () => {
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
    const unpullable = "127.0.0.1:1/devhatchery-test/none:nope";
    await prepullImages(fx.runtime, [RUNNER_IMAGE, unpullable], createLogger("info", sink)).done;
    const entries = lines.map(
      (line) => JSON.parse(line) as { msg: string; image: string; code?: string; reason?: string },
    );
    expect(entries).toContainEqual(expect.objectContaining({ msg: "prepulled image is ready", image: RUNNER_IMAGE }));
    const failure = entries.find((entry) => entry.image === unpullable);
    expect(failure).toMatchObject({
      msg: "prepull failed; runners of this image will pull it when spawned",
      code: "IMAGE_PULL_FAILED",
    });
    expect(failure?.reason).toContain(unpullable);
  });
});
