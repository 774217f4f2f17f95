import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRunners, docker } from "../../../test/docker-cleanup.js";
import {
  createRunnerServiceFixture,
  DEBIAN_IMAGE,
  RUNNER_IMAGE,
  type RunnerServiceFixture,
} from "../../../test/runner-service-fixture.js";
import { FileService } from "../files/file-service.js";
import type { Principal } from "../runner.js";

describe("Workspaces, storage, aliases and stop/attach against the real Docker engine", () => {
  let fx: RunnerServiceFixture;
  let alice: Principal;
  let bob: Principal;
  let files: FileService;

  beforeAll(async () => {
    fx = await createRunnerServiceFixture();
    alice = fx.principal("alice");
    bob = fx.principal("bob");
    files = new FileService(fx.runners, fx.log);
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  const write = (principal: Principal, ref: string, path: string, content: string) =>
    files.write(principal, ref, path, content, { encoding: "utf8", createParents: true, mode: undefined });
  const read = async (principal: Principal, ref: string, path: string) =>
    (await files.read(principal, ref, path, { encoding: "utf8", offset: 0, length: 0 })).content;

  it("keeps /work of a default runner in a volume keyed by its id, which outlives it until removed with it", async () => {
    const runner = await fx.runners.spawn(alice, {});
    expect(runner).toMatchObject({ storage: "volume", workspaceKey: runner.runnerId });
    await write(alice, runner.runnerId, "/work/notes.txt", "kept");
    await expect(fx.runners.remove(alice, runner.runnerId)).resolves.toMatchObject({ volumeRemoved: false });
    const [workspace] = (await fx.runners.listWorkspaces(alice)).filter(
      (entry) => entry.workspaceKey === runner.runnerId,
    );
    expect(workspace).toMatchObject({ workspaceKey: runner.runnerId, runners: [] });

    const back = await fx.runners.attach(alice, runner.runnerId);
    expect(back.action).toBe("spawned");
    expect(back.runner).toMatchObject({ status: "ready", workspaceKey: runner.runnerId, image: RUNNER_IMAGE });
    expect(back.runner.runnerId).not.toBe(runner.runnerId);
    expect(await read(alice, back.runner.runnerId, "/work/notes.txt")).toBe("kept");

    await expect(fx.runners.remove(alice, back.runner.runnerId, { removeVolume: true })).resolves.toMatchObject({
      volumeRemoved: true,
    });
    expect((await fx.runners.listWorkspaces(alice)).map((entry) => entry.workspaceKey)).not.toContain(runner.runnerId);
    expect(fx.audit).toContainEqual(
      expect.objectContaining({ action: "volume.remove", principal: alice.id, workspace: runner.runnerId }),
    );
  });

  it("reuses a named workspace: its files survive the runner, attach by key spawns on it with the workspace's image", async () => {
    const first = await fx.runners.spawn(alice, { workspaceKey: "proj", image: DEBIAN_IMAGE });
    await write(alice, "proj", "src/main.c", "int main(){}");
    await fx.runners.remove(alice, "proj");
    await expect(fx.runners.get(alice, "proj")).rejects.toMatchObject({ code: "NOT_FOUND" });

    const attached = await fx.runners.attach(alice, "proj");
    expect(attached).toMatchObject({
      action: "spawned",
      runner: { workspaceKey: "proj", image: DEBIAN_IMAGE, status: "ready" },
    });
    expect(attached.runner.runnerId).not.toBe(first.runnerId);
    expect(await read(alice, "proj", "/work/src/main.c")).toBe("int main(){}");
    await expect(fx.runners.attach(alice, "proj")).resolves.toMatchObject({
      action: "reused",
      runner: { runnerId: attached.runner.runnerId },
    });

    await expect(fx.runners.spawn(alice, { workspaceKey: "proj" })).rejects.toMatchObject({
      code: "ALREADY_EXISTS",
      message: `Workspace "proj" already has runner "${attached.runner.runnerId}" (ready); use runner_attach with runner "proj" to work in it, or remove that runner with runner_remove first.`,
    });
    await expect(fx.runners.removeWorkspace(alice, "proj")).rejects.toMatchObject({
      code: "VOLUME_IN_USE",
      message: `Workspace "proj" is still mounted by runner "${attached.runner.runnerId}"; remove that runner with runner_remove first (remove_volume: true removes the workspace with its last runner).`,
    });
    await fx.runners.remove(alice, "proj");
    await expect(fx.runners.removeWorkspace(alice, "proj")).resolves.toMatchObject({
      workspaceKey: "proj",
      runners: [],
    });
    await expect(fx.runners.removeWorkspace(alice, "proj")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("lists workspaces with their last use and size, most recent first", async () => {
    await fx.runners.spawn(alice, { workspaceKey: "older" });
    const newer = await fx.runners.spawn(alice, { workspaceKey: "newer" });
    await write(alice, "newer", "/work/blob", "x".repeat(100_000));
    const listed = await fx.runners.listWorkspaces(alice, { sizes: true });
    const keys = listed.map((entry) => entry.workspaceKey);
    expect(keys.indexOf("newer")).toBeLessThan(keys.indexOf("older"));
    const entry = listed.find((workspace) => workspace.workspaceKey === "newer");
    expect(entry).toMatchObject({ runners: [newer.runnerId] });
    expect(entry?.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(entry?.sizeBytes).toBeGreaterThanOrEqual(100_000);
    await fx.runners.remove(alice, "older", { removeVolume: true });
    await fx.runners.remove(alice, "newer", { removeVolume: true });
  });

  it("puts tmpfs work in memory only: no workspace, gone with the runner", async () => {
    const before = (await fx.runners.listWorkspaces(alice)).length;
    const runner = await fx.runners.spawn(alice, { storage: "tmpfs" });
    expect(runner).toMatchObject({ storage: "tmpfs", workspaceKey: undefined });
    await write(alice, runner.runnerId, "/work/scratch", "temp");
    const mounts = await fx.execs.run(
      alice,
      runner.runnerId,
      { command: "grep ' /work ' /proc/mounts | cut -d' ' -f3" },
      () => {},
    );
    expect(mounts.stdout).toBe("tmpfs\n");
    expect((await fx.runners.listWorkspaces(alice)).length).toBe(before);
    await expect(fx.runners.remove(alice, runner.runnerId, { removeVolume: true })).resolves.toMatchObject({
      volumeRemoved: false,
    });
    await expect(fx.runners.spawn(alice, { storage: "tmpfs", workspaceKey: "nope" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("resolves aliases, keeps them unique per principal, and lets another principal use the same alias and key", async () => {
    const runner = await fx.runners.spawn(alice, { alias: "web", workspaceKey: "site" });
    expect(await fx.runners.resolveRunnerId(alice, "web")).toBe(runner.runnerId);
    expect(await fx.runners.resolveRunnerId(alice, "site")).toBe(runner.runnerId);
    expect((await fx.execs.run(alice, "web", { command: "pwd" }, () => {})).stdout).toBe("/work\n");
    await expect(fx.runners.spawn(alice, { alias: "web" })).rejects.toMatchObject({
      code: "ALREADY_EXISTS",
      message: `Alias "web" is already used by runner "${runner.runnerId}" (ready); choose another alias, or use runner_attach with runner "web".`,
    });
    const bobs = await fx.runners.spawn(bob, { alias: "web", workspaceKey: "site" });
    expect(await fx.runners.resolveRunnerId(bob, "web")).toBe(bobs.runnerId);
    expect(bobs.volume).not.toBe(runner.volume);
    await fx.runners.remove(bob, "web", { removeVolume: true });
    await fx.runners.remove(alice, "web", { removeVolume: true });
    await expect(fx.runners.get(alice, "web")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("stops a runner keeping everything, and attach starts it again ready with /work intact", async () => {
    const runner = await fx.runners.spawn(alice, { alias: "sleepy" });
    await write(alice, "sleepy", "/work/state", "before stop");
    const stopped = await fx.runners.stop(alice, "sleepy");
    expect(stopped).toMatchObject({ runnerId: runner.runnerId, status: "stopped", error: undefined });
    expect(fx.audit).toContainEqual(
      expect.objectContaining({ action: "runner.stop", runner: runner.runnerId, outcome: "ok" }),
    );
    await expect(fx.execs.run(alice, "sleepy", { command: "true" }, () => {})).rejects.toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message: 'Runner "sleepy" is stopped, not running; start it again with runner_attach (runner: "sleepy").',
    });
    expect(await countRunners(alice.id)).toBeGreaterThanOrEqual(1);

    const attached = await fx.runners.attach(alice, "sleepy");
    expect(attached).toMatchObject({ action: "started", runner: { runnerId: runner.runnerId, status: "ready" } });
    expect(await read(alice, "sleepy", "/work/state")).toBe("before stop");
    expect(fx.audit).toContainEqual(
      expect.objectContaining({ action: "runner.start", runner: runner.runnerId, outcome: "ok" }),
    );
    await fx.runners.remove(alice, "sleepy", { removeVolume: true });
  });

  it("runs a runner spawned without network on an internal network", async () => {
    const runner = await fx.runners.spawn(alice, { network: false, storage: "tmpfs" });
    expect(runner.network).toBe(false);
    const info = await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect();
    expect(info.HostConfig.NetworkMode).toBe(`${fx.network}-offline`);
    const net = await docker.getNetwork(`${fx.network}-offline`).inspect();
    expect(net.Internal).toBe(true);
    expect((await fx.execs.run(alice, runner.runnerId, { command: "echo reachable" }, () => {})).stdout).toBe(
      "reachable\n",
    );
    await fx.runners.remove(alice, runner.runnerId);
  });

  it("runs a hardened runner as an unprivileged user with a writable /work", async () => {
    const runner = await fx.runners.spawn(alice, { profile: "hardened" });
    expect(runner.profile).toBe("hardened");
    const result = await fx.execs.run(
      alice,
      runner.runnerId,
      { command: "id -u; touch /work/mine && echo work-ok; touch /etc/x 2>/dev/null || echo root-ro" },
      () => {},
    );
    expect(result.stdout).toBe("1000\nwork-ok\nroot-ro\n");
    await fx.runners.remove(alice, runner.runnerId, { removeVolume: true });
  });

  it("stops a process that outgrows the runner's memory limit and says so", async () => {
    const runner = await fx.runners.spawn(alice, { memoryMb: 128, storage: "tmpfs" });
    const result = await fx.execs.run(alice, runner.runnerId, { command: "head -c 600m /dev/zero | tail" }, () => {});
    expect(result.reason).toBe("oom_killed");
    await fx.runners.remove(alice, runner.runnerId);
  });
});
