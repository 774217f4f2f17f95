import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { TEST_RUNNER_IMAGE } from "../support/control-plane-process.js";
import { callTool, textOf } from "../support/mcp-client.js";
import {
  eventually,
  fails,
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

const RUNNER_ID = /^r-[0-9a-f]{12}$/;

describe("runners and workspaces through a real MCP client", () => {
  const { principals, network, env } = testIdentities("lifecycle", ["alice"]);
  let plane: RunnersControlPlane;
  let alice: Client;

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, {
      ...env,
      DEVHATCHERY_MAX_CPUS: "2",
      DEVHATCHERY_MAX_MEMORY_MB: "2048",
    });
    alice = plane.clients[0] as Client;
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("spawns with every parameter and reports them in the result, runner_list and the runner resource", async () => {
    const args = {
      image: TEST_RUNNER_IMAGE,
      workspace_key: "proj",
      alias: "build",
      cpus: 0.5,
      memory_mb: 256,
      network: false,
      env: { GREETING: "hello from env" },
      profile: "default",
      idempotency_key: "spawn-build-1",
      mounts: [],
    };
    const spawned = await ok(alice, "runner_spawn", args);
    expect(spawned).toMatchObject({
      status: "ready",
      image: TEST_RUNNER_IMAGE,
      alias: "build",
      workspace_key: "proj",
      storage: "volume",
      limits: { cpus: 0.5, memory_mb: 256 },
      network: false,
      profile: "default",
      reused: false,
    });
    const runnerId = spawned.runner_id as string;
    expect(runnerId).toMatch(RUNNER_ID);
    expect(spawned.startup_ms).toBeGreaterThan(0);

    // The alias and the workspace key work as `runner` wherever a runner id does.
    expect(await sh(alice, "build", 'echo "$GREETING"')).toBe("hello from env\n");
    expect(await ok(alice, "fs_write", { runner: "proj", path: "/work/hello.txt", content: "kept" })).toMatchObject({
      file: { path: "/work/hello.txt" },
    });
    expect(await ok(alice, "fs_read", { runner: "build", path: "/work/hello.txt" })).toMatchObject({ content: "kept" });
    const memoryLimit = await sh(
      alice,
      runnerId,
      "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    expect(memoryLimit.trim()).toBe(String(256 * 1024 * 1024));
    const cpuQuota = await sh(
      alice,
      runnerId,
      'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
    );
    expect(cpuQuota.trim()).toBe("50000 100000");
    // network: false: the runner sits only on an internal network (Docker drops traffic leaving it).
    const networks = Object.keys(
      (await docker.getContainer(`devhatchery-${runnerId}`).inspect()).NetworkSettings.Networks,
    );
    expect(networks).toEqual([`${network}-offline`]);
    expect((await docker.getNetwork(`${network}-offline`).inspect()).Internal).toBe(true);

    const listed = ((await ok(alice, "runner_list")).runners as Record<string, unknown>[]).find(
      (runner) => runner.runner_id === runnerId,
    );
    expect(listed).toMatchObject({
      status: "ready",
      alias: "build",
      workspace_key: "proj",
      storage: "volume",
      network: false,
      limits: { cpus: 0.5, memory_mb: 256 },
    });
    expect(listed?.last_activity_at).toEqual(expect.any(String));
    for (const ref of [runnerId, "build", "proj"]) {
      const read = await alice.readResource({ uri: `devhatchery://runners/${ref}` });
      const body = JSON.parse((read.contents[0] as { text: string }).text) as Record<string, unknown>;
      expect(body).toMatchObject({
        runner_id: runnerId,
        status: "ready",
        image: TEST_RUNNER_IMAGE,
        alias: "build",
        workspace_key: "proj",
        storage: "volume",
        profile: "default",
      });
      expect(body.created_at).toEqual(spawned.created_at);
    }

    // The same idempotency key and arguments: the same runner; other arguments: refused.
    expect(await ok(alice, "runner_spawn", args)).toMatchObject({ runner_id: runnerId, reused: true, status: "ready" });
    expect(await fails(alice, "runner_spawn", { ...args, alias: "other" })).toMatch(
      /^Error IDEMPOTENCY_CONFLICT: .*spawn-build-1/,
    );
    // The workspace and the alias are taken.
    const onWorkspace = await fails(alice, "runner_spawn", { workspace_key: "proj" });
    expect(onWorkspace).toContain(`Error ALREADY_EXISTS: Workspace "proj" already has runner "${runnerId}"`);
    expect(onWorkspace).toContain("runner_attach");
    expect(await fails(alice, "runner_spawn", { alias: "build" })).toContain(
      `Error ALREADY_EXISTS: Alias "build" is already used by runner "${runnerId}"`,
    );
  });

  it("keeps /work across runner_remove and brings it back with runner_attach by workspace_key", async () => {
    const first = await ok(alice, "runner_spawn", { workspace_key: "keep" });
    await sh(alice, "keep", "echo 'survives removal' > /work/notes.txt");
    expect(await ok(alice, "runner_remove", { runner: "keep" })).toEqual({
      runner_id: first.runner_id,
      removed: true,
      workspace_key: "keep",
      volume_removed: false,
    });

    const workspaces = (await ok(alice, "volume_list", { sizes: false })).workspaces as Record<string, unknown>[];
    expect(workspaces.find((workspace) => workspace.workspace_key === "keep")).toMatchObject({ runners: [] });
    const attached = await ok(alice, "runner_attach", { runner: "keep" });
    expect(attached).toMatchObject({ action: "spawned", status: "ready", workspace_key: "keep" });
    expect(attached.runner_id).not.toBe(first.runner_id);
    expect(await sh(alice, "keep", "cat /work/notes.txt")).toBe("survives removal\n");

    // volume_remove refuses while a runner mounts the workspace, and works once none does.
    const inUse = await fails(alice, "volume_remove", { workspace_key: "keep" });
    expect(inUse).toContain(`Error VOLUME_IN_USE: Workspace "keep" is still mounted by runner`);
    expect(inUse.split("\n")[1]).toBe(
      "runner_list shows which runners mount it; runner_remove each of them (remove_volume: true on the last one also deletes the workspace), or volume_remove once none is left.",
    );
    expect(inUse).toContain(attached.runner_id as string);
    await ok(alice, "runner_remove", { runner: attached.runner_id as string });
    const sized = ((await ok(alice, "volume_list")).workspaces as Record<string, unknown>[]).find(
      (workspace) => workspace.workspace_key === "keep",
    );
    expect(sized?.size_bytes).toBeGreaterThanOrEqual("survives removal\n".length);
    expect(await ok(alice, "volume_remove", { workspace_key: "keep" })).toMatchObject({
      removed: true,
      workspace: { workspace_key: "keep" },
    });
    const after = (await ok(alice, "volume_list", { sizes: false })).workspaces as Record<string, unknown>[];
    expect(after.map((workspace) => workspace.workspace_key)).not.toContain("keep");
    expect(await fails(alice, "runner_attach", { runner: "keep" })).toMatch(
      /^Error NOT_FOUND: Runner "keep" not found for this principal/,
    );
  });

  it("loses a tmpfs /work on removal: there is no workspace to attach to", async () => {
    const spawned = await ok(alice, "runner_spawn", { storage: "tmpfs", alias: "scratch" });
    expect(spawned).toMatchObject({ storage: "tmpfs", alias: "scratch" });
    expect(spawned.workspace_key).toBeUndefined();
    expect(await sh(alice, "scratch", "grep ' /work ' /proc/mounts | cut -d' ' -f3")).toBe("tmpfs\n");
    await sh(alice, "scratch", "echo gone > /work/transient.txt");
    expect(await ok(alice, "runner_remove", { runner: "scratch", remove_volume: false })).toEqual({
      runner_id: spawned.runner_id,
      removed: true,
      volume_removed: false,
    });
    expect(await fails(alice, "runner_attach", { runner: "scratch" })).toMatch(
      /^Error NOT_FOUND: Runner "scratch" not found for this principal/,
    );
    expect(await fails(alice, "runner_spawn", { storage: "tmpfs", workspace_key: "nope" })).toMatch(
      /^Error INVALID_ARGUMENT: storage "tmpfs" cannot be combined with workspace_key "nope"/,
    );
  });

  it("stops a runner (exec is then refused with the way back) and starts it again with runner_attach", async () => {
    const spawned = await ok(alice, "runner_spawn", { alias: "sleepy" });
    await sh(alice, "sleepy", "echo before > /work/state.txt");
    expect(await ok(alice, "runner_stop", { runner: "sleepy" })).toMatchObject({
      runner_id: spawned.runner_id,
      status: "stopped",
    });
    const refused = await fails(alice, "exec", { runner: "sleepy", command: "true" });
    expect(refused).toMatch(/^Error RUNNER_UNAVAILABLE: /);
    expect(refused).toContain("runner_attach");
    expect(await ok(alice, "runner_attach", { runner: "sleepy" })).toMatchObject({
      runner_id: spawned.runner_id,
      action: "started",
      status: "ready",
    });
    expect(await sh(alice, "sleepy", "cat /work/state.txt")).toBe("before\n");
    expect(await ok(alice, "runner_attach", { runner: spawned.runner_id as string })).toMatchObject({
      action: "reused",
    });
    await ok(alice, "runner_remove", { runner: "sleepy", remove_volume: true });
  });

  it("runs the hardened profile as a non-root user on a read-only root filesystem, /work writable", async () => {
    expect(await ok(alice, "runner_spawn", { alias: "locked", profile: "hardened" })).toMatchObject({
      profile: "hardened",
      status: "ready",
    });
    expect(await sh(alice, "locked", "id -u")).not.toBe("0\n");
    expect(await ok(alice, "exec", { runner: "locked", command: "touch /etc/devhatchery-probe" })).toMatchObject({
      exit_code: 1,
    });
    expect(await sh(alice, "locked", "echo ok > /work/probe && cat /work/probe")).toBe("ok\n");
    await ok(alice, "runner_remove", { runner: "locked", remove_volume: true });
  });

  it("refuses what the operator's policy does not allow, naming the limit", async () => {
    expect(await fails(alice, "runner_spawn", { cpus: 4 })).toMatch(
      /^Error POLICY_DENIED: cpus 4 is above this server's maximum of 2; ask for 2 or less\.\n/,
    );
    expect(await fails(alice, "runner_spawn", { memory_mb: 4096 })).toMatch(
      /^Error POLICY_DENIED: memory_mb 4096 is above this server's maximum of 2048; ask for 2048 or less\.\n/,
    );
    expect(await fails(alice, "runner_spawn", { env: { DEVHATCHERY_TOKEN: "x" } })).toMatch(
      /^Error INVALID_ARGUMENT: env name "DEVHATCHERY_TOKEN" is reserved/,
    );
  });

  it("stops a memory-hungry process at memory_mb and says it was OOM-killed", async () => {
    await ok(alice, "runner_spawn", { alias: "small", memory_mb: 128, storage: "tmpfs" });
    const hog = await ok(alice, "exec", { runner: "small", command: "head -c 1024M /dev/zero | tail > /dev/null" });
    expect(hog).toMatchObject({ state: "exited", reason: "oom_killed" });
    expect(await sh(alice, "small", "echo still alive")).toBe("still alive\n");
    await ok(alice, "runner_remove", { runner: "small" });
  });

  it("notices an agent killed inside a runner, reports it stopped with the exit, and runner_attach restarts it", async () => {
    const spawned = await ok(alice, "runner_spawn", { alias: "fragile" });
    const killer =
      "for p in /proc/[0-9]*; do grep -q agent.cjs $p/cmdline 2>/dev/null && agent=${p#/proc/}; done; " +
      '(sleep 0.3; kill -9 "$agent") > /dev/null 2>&1 & echo "$agent"';
    expect(await sh(alice, "fragile", killer)).toMatch(/^\d+\n$/);
    const stopped = await eventually("runner reported stopped", async () => {
      const runner = ((await ok(alice, "runner_list")).runners as Record<string, unknown>[]).find(
        (candidate) => candidate.runner_id === spawned.runner_id,
      );
      return runner?.status === "stopped" ? runner : undefined;
    });
    expect(stopped.error).toMatch(/^the agent exited \(exit code 137/);
    expect(await ok(alice, "runner_attach", { runner: "fragile" })).toMatchObject({
      action: "started",
      status: "ready",
    });
    expect(await sh(alice, "fragile", "echo back")).toBe("back\n");
    await ok(alice, "runner_remove", { runner: "fragile", remove_volume: true });
  });

  it("reports the server's status and the caller's counts", async () => {
    const status = await ok(alice, "system_status");
    const runners = (await ok(alice, "runner_list")).runners as { status: string }[];
    const workspaces = (await ok(alice, "volume_list", { sizes: false })).workspaces as unknown[];
    expect(status).toMatchObject({
      version: expect.any(String),
      docker_reachable: true,
      runner_count: runners.length,
      workspace_count: workspaces.length,
    });
    expect((status.runners as Record<string, number>).ready).toBe(
      runners.filter((runner) => runner.status === "ready").length,
    );
    const { result } = await callTool(alice, "system_status", {});
    expect(textOf(result)).toContain("Docker reachable");
  });
});
