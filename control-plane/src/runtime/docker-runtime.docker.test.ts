import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../test/docker-cleanup.js";
import {
  canConnect,
  createRuntimeFixture,
  DEBIAN_IMAGE,
  eventually,
  RUNNER_IMAGE,
  type RuntimeFixture,
} from "../../test/runtime-fixture.js";
import type { RunnerEvent } from "./runner-events.js";
import { workspaceVolumeName } from "./docker-workspace-volumes.js";

const NODE = "/opt/devhatchery/bin/node";
/** Kills the agent (not docker-init, pid 1, whose command line names it too); the pattern does not match this script. */
const KILL_AGENT =
  'for p in /proc/[0-9]*; do pid=${p#/proc/}; [ "$pid" != 1 ] && grep -q "agent[.]cjs" "$p/cmdline" 2>/dev/null && kill -9 "$pid"; done; true';

describe("DockerRuntime: runners, workspaces, limits, profiles, lifecycle and events", () => {
  let fixture: RuntimeFixture;
  const events: RunnerEvent[] = [];
  let unsubscribe = (): void => {};

  beforeAll(async () => {
    fixture = await createRuntimeFixture("runtime");
    unsubscribe = fixture.runtime.events.watch((event) => events.push(event));
  });
  afterAll(async () => {
    unsubscribe();
    await fixture?.cleanup();
  });

  describe("workspace volumes", () => {
    it("creates one labelled volume per principal and key, finds and lists it only for its owner, and never changes it", async () => {
      const { runtime, principal } = fixture;
      const created = await runtime.workspaces.ensure(principal, "project-a", "2026-01-02T03:04:05.000Z", RUNNER_IMAGE);
      const name = workspaceVolumeName(principal, "project-a", "default");
      expect(name).toMatch(/^devhatchery-ws-[0-9a-f]{20}$/);
      expect(created).toEqual({
        name,
        principal,
        workspaceKey: "project-a",
        createdAt: "2026-01-02T03:04:05.000Z",
        image: RUNNER_IMAGE,
        sizeBytes: undefined,
        usedBy: [],
      });
      expect((await docker.getVolume(name).inspect()).Labels).toEqual({
        "io.devhatchery.managed": "true",
        "io.devhatchery.instance": "default",
        "io.devhatchery.kind": "workspace",
        "io.devhatchery.owner": principal,
        "io.devhatchery.workspace": "project-a",
        "io.devhatchery.created": "2026-01-02T03:04:05.000Z",
        "io.devhatchery.image": RUNNER_IMAGE,
      });
      expect(await runtime.workspaces.ensure(principal, "project-a", "2030-01-01T00:00:00.000Z")).toEqual(created);
      expect(await runtime.workspaces.find(principal, "project-a")).toEqual(created);
      expect(await runtime.workspaces.find(`${principal}-other`, "project-a")).toBeUndefined();
      expect(await runtime.workspaces.find(principal, "project-b")).toBeUndefined();
      expect(await runtime.workspaces.list(principal)).toEqual([created]);
      expect(await runtime.workspaces.list(`${principal}-other`)).toEqual([]);
    });

    it("keeps /work on the volume across runners and reports who mounts it and how much it holds", async () => {
      const { runtime, principal } = fixture;
      const volume = await runtime.workspaces.ensure(principal, "persist", new Date().toISOString());
      const first = await fixture.start({ storage: { kind: "volume", volume: volume.name }, workspaceKey: "persist" });
      expect(first.storage).toEqual({ kind: "volume", volume: volume.name });
      expect(first.workspaceKey).toBe("persist");
      const write = await fixture.exec(first.runnerId, [
        "sh",
        "-c",
        "head -c 1048576 /dev/zero > /work/blob && echo kept > /work/keep.txt",
      ]);
      expect(write).toEqual({ exitCode: 0, output: "" });
      expect((await runtime.workspaces.find(principal, "persist"))?.usedBy).toEqual([first.runnerId]);

      const [listed] = await runtime.workspaces
        .list(principal, { sizes: true })
        .then((all) => all.filter((entry) => entry.name === volume.name));
      expect(listed?.usedBy).toEqual([first.runnerId]);
      expect(listed?.sizeBytes).toBeGreaterThanOrEqual(1048576 + 5);

      await runtime.containers.removeRunner(first.runnerId);
      const second = await fixture.start({ storage: { kind: "volume", volume: volume.name } });
      expect(await fixture.exec(second.runnerId, ["cat", "/work/keep.txt"])).toEqual({ exitCode: 0, output: "kept\n" });
      await runtime.containers.removeRunner(second.runnerId);
    });

    // Like a fresh volume, the tmpfs starts as a copy of the image's /work (mode included: 755 in the runner image).
    it("loses tmpfs work with its runner; the tmpfs has the asked size", async () => {
      const first = await fixture.start({ storage: { kind: "tmpfs", sizeMb: 32 } });
      expect(first.storage).toEqual({ kind: "tmpfs", sizeMb: 32 });
      expect(
        await fixture.exec(first.runnerId, [
          "sh",
          "-c",
          "echo gone > /work/note.txt && stat -c %a /work && df -k /work | tail -1 | tr -s ' ' | cut -d' ' -f2",
        ]),
      ).toEqual({
        exitCode: 0,
        output: "755\n32768\n",
      });
      await fixture.runtime.containers.removeRunner(first.runnerId);
      const second = await fixture.start({ storage: { kind: "tmpfs", sizeMb: 32 } });
      expect(await fixture.exec(second.runnerId, ["ls", "-A", "/work"])).toEqual({ exitCode: 0, output: "" });
      await fixture.runtime.containers.removeRunner(second.runnerId);
    });

    it("refuses to remove a volume a stopped runner still mounts, naming it and the runner; removes it once free", async () => {
      const { runtime, principal } = fixture;
      const volume = await runtime.workspaces.ensure(principal, "busy", new Date().toISOString());
      const runner = await fixture.start({ storage: { kind: "volume", volume: volume.name } });
      await runtime.containers.stopRunner(runner.runnerId, 1);
      await expect(runtime.workspaces.remove(volume.name)).rejects.toMatchObject({
        code: "VOLUME_IN_USE",
        message: `Workspace volume "${volume.name}" is still mounted by "${runner.runnerId}"; remove those runners first (stopped ones count too), then remove the volume.`,
      });
      await runtime.containers.removeRunner(runner.runnerId);
      await runtime.workspaces.remove(volume.name);
      expect(await runtime.workspaces.find(principal, "busy")).toBeUndefined();
      await expect(runtime.workspaces.remove(volume.name)).rejects.toMatchObject({
        code: "NOT_FOUND",
        message: `Workspace volume "${volume.name}" does not exist; list the workspace volumes to find its name.`,
      });
    });
  });

  describe("labels, limits and environment", () => {
    it("labels the runner, applies the limits without swap, passes env after the agent's own, and reads it all back", async () => {
      const runner = await fixture.start({
        alias: "builder",
        workspaceKey: "ws-1",
        limits: { cpus: 1.5, memoryMb: 256, pids: 128 },
        env: { GREETING: "hello world", EMPTY: "" },
      });
      const info = await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect();
      expect(info.HostConfig).toMatchObject({
        NanoCpus: 1_500_000_000,
        Memory: 256 * 1024 * 1024,
        MemorySwap: 256 * 1024 * 1024,
        PidsLimit: 128,
        Init: true,
        ReadonlyRootfs: false,
      });
      expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
      expect(info.HostConfig.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
      // An image baked with an agent that reads its token on stdin gets the variable empty; an older one, the token.
      const onStdin =
        (await docker.getImage(RUNNER_IMAGE).inspect()).Config.Labels?.["io.devhatchery.agent.token"] === "stdin";
      const tokenEntry = onStdin
        ? "DEVHATCHERY_AGENT_TOKEN="
        : expect.stringMatching(/^DEVHATCHERY_AGENT_TOKEN=[0-9a-f]{64}$/);
      expect(info.Config.Env?.slice(0, 5)).toEqual([
        tokenEntry,
        "DEVHATCHERY_AGENT_PORT=7070",
        "DEVHATCHERY_AGENT_EXEC_OUTPUT_MB=1024",
        "GREETING=hello world",
        "EMPTY=",
      ]);
      expect(info.Config.OpenStdin).toBe(onStdin);
      expect(info.Config.Labels).toMatchObject({
        "io.devhatchery.alias": "builder",
        "io.devhatchery.workspace": "ws-1",
        "io.devhatchery.storage": "tmpfs",
        "io.devhatchery.hardened": "false",
        "io.devhatchery.network": "true",
      });
      expect(await fixture.exec(runner.runnerId, ["sh", "-c", 'echo "$GREETING"'])).toEqual({
        exitCode: 0,
        output: "hello world\n",
      });
      expect(await fixture.runtime.containers.findRunner(runner.runnerId)).toMatchObject({
        alias: "builder",
        workspaceKey: "ws-1",
        storage: { kind: "tmpfs", sizeMb: 64 },
        limits: { cpus: 1.5, memoryMb: 256, pids: 128 },
        networkEnabled: true,
        hardened: false,
        oomKilled: false,
        state: "running",
        finishedAt: undefined,
      });
      await fixture.runtime.containers.removeRunner(runner.runnerId);
    });

    it("OOM-kills a process that allocates beyond the memory limit and says so", async () => {
      const runner = await fixture.start({ limits: { cpus: 1, memoryMb: 128, pids: 256 } });
      const hog = await fixture.exec(runner.runnerId, [
        NODE,
        "-e",
        "const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1));",
      ]);
      expect(hog.exitCode).toBe(137);
      await eventually("the oom event", () =>
        events.find((event) => event.runnerId === runner.runnerId && event.action === "oom"),
      );
      // Only the hog died: the agent still serves (the container's own oomKilled flag is for its main process).
      expect(await fixture.runtime.containers.findRunner(runner.runnerId)).toMatchObject({ state: "running" });
      expect(await canConnect(runner.address ?? "", 7070)).toBe(true);
      await fixture.runtime.containers.removeRunner(runner.runnerId);
    });

    it("refuses new processes beyond the pids limit", async () => {
      const runner = await fixture.start({ limits: { cpus: 1, memoryMb: 256, pids: 48 } });
      const script = [
        'const { spawn } = require("child_process");',
        "let refused = 0;",
        'for (let i = 0; i < 80; i++) spawn("sleep", ["30"]).on("error", (error) => { if (error.code === "EAGAIN") refused++; });',
        "setTimeout(() => { console.log(refused > 0 ? 'refused' : 'all started'); process.exit(0); }, 1000);",
      ].join("\n");
      expect(await fixture.exec(runner.runnerId, [NODE, "-e", script])).toEqual({ exitCode: 0, output: "refused\n" });
      await fixture.runtime.containers.removeRunner(runner.runnerId);
    });
  });

  describe("the hardened profile", () => {
    const probe = [
      "sh",
      "-c",
      "id -u; touch /etc/probe 2>/dev/null && echo etc-writable || echo etc-read-only; touch /work/probe && echo work-ok; touch /tmp/probe && echo tmp-ok; " +
        "stat -c %U:%a /var/tmp/devhatchery-agent",
    ];
    const expected = { exitCode: 0, output: "1000\netc-read-only\nwork-ok\ntmp-ok\nUNKNOWN:700\n" };

    it.each([
      ["baked", RUNNER_IMAGE],
      ["injected", DEBIAN_IMAGE],
    ])(
      "runs the %s agent as uid 1000 on a read-only root, with a fresh workspace volume writable by it",
      async (_delivery, image) => {
        const { runtime, principal } = fixture;
        const volume = await runtime.workspaces.ensure(
          principal,
          `hardened-${image === RUNNER_IMAGE ? "baked" : "injected"}`,
          new Date().toISOString(),
        );
        const runner = await fixture.start({ image, hardened: true, storage: { kind: "volume", volume: volume.name } });
        expect(runner.hardened).toBe(true);
        expect(await fixture.exec(runner.runnerId, probe)).toEqual(expected);
        const info = await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect();
        expect(info.Config.User).toBe("1000:1000");
        expect(info.HostConfig.ReadonlyRootfs).toBe(true);
        const helpers = await docker.listContainers({
          all: true,
          filters: { label: ["io.devhatchery.kind=workspace-helper", `io.devhatchery.runner=${runner.runnerId}`] },
        });
        expect(helpers).toEqual([]);
        await runtime.containers.removeRunner(runner.runnerId);
      },
    );

    it("gives a hardened tmpfs /work to uid 1000", async () => {
      const runner = await fixture.start({
        image: DEBIAN_IMAGE,
        hardened: true,
        storage: { kind: "tmpfs", sizeMb: 16 },
      });
      expect(await fixture.exec(runner.runnerId, probe)).toEqual(expected);
      expect(await fixture.exec(runner.runnerId, ["stat", "-c", "%u:%g %a", "/work"])).toEqual({
        exitCode: 0,
        output: "1000:1000 755\n",
      });
      await fixture.runtime.containers.removeRunner(runner.runnerId);
    });
  });

  describe("lifecycle and events", () => {
    it("stops (twice without error), restarts with a reachable agent, and reports missing runners", async () => {
      const { runtime } = fixture;
      const runner = await fixture.start();
      await runtime.containers.stopRunner(runner.runnerId, 2);
      await runtime.containers.stopRunner(runner.runnerId, 2);
      const stopped = await runtime.containers.findRunner(runner.runnerId);
      expect(stopped).toMatchObject({ state: "exited", address: undefined });
      expect(stopped?.finishedAt).toEqual(expect.any(String));
      const restarted = await runtime.containers.restartRunner(runner.runnerId);
      expect(restarted).toMatchObject({ state: "running", finishedAt: undefined, token: runner.token });
      expect(
        await eventually("the restarted agent", async () =>
          (await canConnect(restarted.address ?? "", 7070, 500)) ? true : undefined,
        ),
      ).toBe(true);
      await runtime.containers.removeRunner(runner.runnerId);
      await expect(runtime.containers.stopRunner(runner.runnerId, 1)).rejects.toMatchObject({
        code: "NOT_FOUND",
        message: `Cannot stop runner "${runner.runnerId}": its container no longer exists; spawn a new runner.`,
      });
      await expect(runtime.containers.restartRunner(runner.runnerId)).rejects.toMatchObject({
        code: "NOT_FOUND",
        message: `Cannot start runner "${runner.runnerId}": its container no longer exists; spawn a new runner.`,
      });
    });

    it("lists runners of every principal and reports start, die with the exit code, and destroy", async () => {
      const { runtime } = fixture;
      const runner = await fixture.start({ principal: fixture.otherPrincipal });
      expect((await runtime.containers.listAllRunners()).map((entry) => entry.runnerId)).toContain(runner.runnerId);
      expect((await runtime.containers.listRunners(fixture.principal)).map((entry) => entry.runnerId)).not.toContain(
        runner.runnerId,
      );
      await eventually("the start event", () =>
        events.find((event) => event.runnerId === runner.runnerId && event.action === "start"),
      );
      const kill = await fixture.exec(runner.runnerId, ["sh", "-c", KILL_AGENT]);
      expect(kill.exitCode).toBe(0);
      expect(
        await eventually("the die event", () =>
          events.find((event) => event.runnerId === runner.runnerId && event.action === "die"),
        ),
      ).toEqual({
        runnerId: runner.runnerId,
        principal: fixture.otherPrincipal,
        action: "die",
        exitCode: 137,
      });
      await runtime.containers.removeRunner(runner.runnerId);
      await eventually("the destroy event", () =>
        events.find((event) => event.runnerId === runner.runnerId && event.action === "destroy"),
      );
    });
  });
});
