import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRunners } from "../../test/docker-cleanup.js";
import { createRunnerServiceFixture, type RunnerServiceFixture } from "../../test/runner-service-fixture.js";
import type { Principal } from "./runner.js";

describe("Concurrent and idempotent spawns against the real Docker engine", () => {
  let fx: RunnerServiceFixture;
  let alice: Principal;
  let bob: Principal;

  beforeAll(async () => {
    fx = await createRunnerServiceFixture();
    alice = fx.principal("alice");
    bob = fx.principal("bob");
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  it("creates exactly one runner when two spawns race for one workspace", async () => {
    const outcomes = await Promise.allSettled([
      fx.runners.spawn(alice, { workspaceKey: "race" }),
      fx.runners.spawn(alice, { workspaceKey: "race" }),
    ]);
    const won = outcomes.filter((outcome) => outcome.status === "fulfilled");
    const lost = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ runnerId: string }>).value;
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
      code: "ALREADY_EXISTS",
      message: `Workspace "race" already has runner "${winner.runnerId}" (starting); use runner_attach with runner "race" to work in it, or remove that runner with runner_remove first.`,
    });
    expect((await fx.runners.list(alice)).filter((runner) => runner.workspaceKey === "race")).toHaveLength(1);
    await fx.runners.remove(alice, "race", { removeVolume: true });
  });

  it("gives two racing spawns with the same idempotency key the same runner", async () => {
    const request = { workspaceKey: "idem-race", idempotencyKey: "key-race" };
    const [first, second] = await Promise.all([fx.runners.spawn(alice, request), fx.runners.spawn(alice, request)]);
    expect(second.runnerId).toBe(first.runnerId);
    expect(second.status).toBe("ready");
    expect((await fx.runners.list(alice)).filter((runner) => runner.workspaceKey === "idem-race")).toHaveLength(1);
    await fx.runners.remove(alice, first.runnerId, { removeVolume: true });
  });

  it("spawns runners for different workspaces side by side", async () => {
    const [one, two] = await Promise.all([
      fx.runners.spawn(alice, { workspaceKey: "par-1" }),
      fx.runners.spawn(alice, { workspaceKey: "par-2" }),
    ]);
    expect(one.runnerId).not.toBe(two.runnerId);
    expect([one.status, two.status]).toEqual(["ready", "ready"]);
    await fx.runners.remove(alice, one.runnerId, { removeVolume: true });
    await fx.runners.remove(alice, two.runnerId, { removeVolume: true });
  });

  it("returns the same runner for the same key and arguments, also after a restart; other arguments conflict", async () => {
    const request = { alias: "idem", idempotencyKey: "key-1", memoryMb: 512 };
    const first = await fx.runners.spawn(alice, request);
    expect((await fx.runners.spawn(alice, request)).runnerId).toBe(first.runnerId);
    const started = await fx.runners.startSpawn(alice, request);
    expect(started).toMatchObject({ reused: true, runner: { runnerId: first.runnerId } });

    // A restarted control plane: a new store on the same file and a new service.
    const restarted = fx.service({}, fx.reopenStore());
    expect((await restarted.spawn(alice, request)).runnerId).toBe(first.runnerId);
    await expect(restarted.spawn(alice, { ...request, memoryMb: 1024 })).rejects.toMatchObject({
      code: "IDEMPOTENCY_CONFLICT",
      message: `idempotency_key "key-1" was already used at ${first.createdAt} for a runner_spawn with other arguments (runner "${first.runnerId}"); repeat the original arguments to get that runner, or use a new key for a different request.`,
    });

    // Another principal's key of the same name is its own.
    const bobs = await fx.runners.spawn(bob, request);
    expect(bobs.runnerId).not.toBe(first.runnerId);

    await fx.runners.remove(alice, first.runnerId, { removeVolume: true });
    await expect(fx.runners.spawn(alice, request)).rejects.toMatchObject({
      code: "IDEMPOTENCY_CONFLICT",
      message: `idempotency_key "key-1" already produced runner "${first.runnerId}", which has been removed since; use a new key to spawn another runner.`,
    });
    await fx.runners.remove(bob, bobs.runnerId, { removeVolume: true });
  });

  it("releases the key of a failed spawn so a retry runs again", async () => {
    const request = { image: "127.0.0.1:1/devhatchery-test/none:nope", idempotencyKey: "key-fail" };
    const first = await fx.runners.spawn(alice, request).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: "IMAGE_PULL_FAILED" });
    const second = await fx.runners.spawn(alice, request).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: "IMAGE_PULL_FAILED" });
    const failed = (await fx.runners.list(alice)).filter(
      (runner) => runner.status === "failed" && runner.image === request.image,
    );
    expect(failed).toHaveLength(2);
    for (const runner of failed) await fx.runners.remove(alice, runner.runnerId);
  });

  it("gives two racing attaches to a workspace with no runner one runner, and no error", async () => {
    const first = await fx.runners.spawn(alice, { workspaceKey: "attach-race" });
    await fx.runners.remove(alice, first.runnerId);
    const [one, two] = await Promise.all([
      fx.runners.attach(alice, "attach-race"),
      fx.runners.attach(alice, "attach-race"),
    ]);
    expect(two.runner.runnerId).toBe(one.runner.runnerId);
    expect([one.action, two.action].sort()).toEqual(["reused", "spawned"]);
    expect([one.runner.status, two.runner.status]).toEqual(["ready", "ready"]);
    expect((await fx.runners.list(alice)).filter((runner) => runner.workspaceKey === "attach-race")).toHaveLength(1);
    await fx.runners.remove(alice, "attach-race", { removeVolume: true });
  });

  it("checks a runner again inside its lock: of two racing removes one removes it, the other finds nothing", async () => {
    const runner = await fx.runners.spawn(alice, { alias: "remove-race" });
    const outcomes = await Promise.allSettled([
      fx.runners.remove(alice, runner.runnerId),
      fx.runners.remove(alice, runner.runnerId),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect((outcomes.find((outcome) => outcome.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({
      code: "NOT_FOUND",
      message: `Runner "${runner.runnerId}" not found for this principal; spawn one with runner_spawn.`,
    });
    expect(
      fx.audit.filter((entry) => entry.action === "runner.remove" && entry.runner === runner.runnerId),
    ).toHaveLength(1);
  });

  it("returns at once with wait false and settles ready later", async () => {
    const changes: string[] = [];
    const stop = fx.runners.onRunnerChange((principal, runnerId) => principal === alice.id && changes.push(runnerId));
    try {
      const started = await fx.runners.startSpawn(alice, { alias: "later" });
      expect(started).toMatchObject({ reused: false, runner: { status: "starting", alias: "later" } });
      const id = started.runner.runnerId;
      expect(await fx.runners.get(alice, id)).toMatchObject({ runnerId: id, status: "starting" });
      await expect(fx.runners.remove(alice, id)).rejects.toMatchObject({
        code: "RUNNER_UNAVAILABLE",
        message: `Runner "${id}" is still starting; wait for it with runner_attach (runner: "${id}"), then call again.`,
      });
      const ready = await started.ready;
      expect(ready).toMatchObject({ runnerId: started.runner.runnerId, status: "ready" });
      expect(await fx.runners.get(alice, "later")).toMatchObject({ status: "ready" });
      expect(changes.filter((id) => id === ready.runnerId).length).toBeGreaterThanOrEqual(2);
      expect(await countRunners(alice.id)).toBeGreaterThanOrEqual(1);
      await fx.runners.remove(alice, "later", { removeVolume: true });
    } finally {
      stop();
    }
  });
});
