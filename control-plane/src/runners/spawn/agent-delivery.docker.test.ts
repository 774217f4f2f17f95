import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentHelperNames,
  createAgentDeliveryFixture,
  type AgentDeliveryFixture,
} from "../../../test/agent-delivery-fixture.js";
import { countRunners, docker, removeTestRunners } from "../../../test/docker-cleanup.js";
import { DEFAULT_AGENT_BUNDLE } from "../../config.js";
import { createLogger } from "../../log.js";
import { AgentPayload } from "../../runtime/agent-payload.js";
import { DockerRuntime } from "../../runtime/docker-runtime.js";
import { NodeRuntimeCache } from "../../runtime/node-runtime-cache.js";
import { createSqliteStateStore } from "../../store/sqlite-state-store.js";
import { ExecService } from "../exec/exec-service.js";
import { RunnerService, type SpawnProgress } from "../runner-service.js";

const RUNNER_IMAGE = "devhatchery-test/runner:dev";
/** Plain Debian minbase: no agent, no Node, no /work, no /opt/devhatchery. */
const DEBIAN_IMAGE = "devhatchery-test/debian:bookworm";
/** What `ls -A` shows in an agent volume: the marker, the bundle, bin/ and the native addons shipped beside the bundle. */
const VOLUME_LISTING = [
  ".devhatchery-agent-complete",
  "agent.cjs",
  "bin",
  ...readdirSync(dirname(DEFAULT_AGENT_BUNDLE)).filter((name) => name.endsWith(".node")),
]
  .sort()
  .map((name) => `${name}\n`)
  .join("");
const VOLUME_NAME = /^devhatchery-agent-0\.0\.0-test\.[0-9a-f]+(?:-[a-z]+)?-[0-9a-f]{12}-x64$/;

/** The agent-preparation statuses a spawn reported (they travel as "pulling" progress). */
function agentStatuses(progress: SpawnProgress[]): string[] {
  return progress.flatMap((event) =>
    event.phase === "pulling" && event.detail.status.startsWith("agent: ") ? [event.detail.status.slice(7)] : [],
  );
}

describe("agent delivery: baked when the image has the agent, injected from a read-only volume otherwise", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { id: `test-delivery-${suffix}` };
  const network = `devhatchery-test-${suffix}`;
  const log = createLogger("silent");
  let fixture: AgentDeliveryFixture;

  /** A control plane of its own (runtime + services): a fresh process as far as agent volumes are concerned. */
  function controlPlane(version?: string): { runners: RunnerService; execs: ExecService } {
    const runners = new RunnerService(
      new DockerRuntime(log, undefined, fixture.options(version)),
      createSqliteStateStore(":memory:"),
      { defaultImage: RUNNER_IMAGE, network, readyTimeoutMs: 20_000 },
      log,
    );
    return { runners, execs: new ExecService(runners, log) };
  }

  async function spawnWithProgress(
    runners: RunnerService,
    image: string,
  ): Promise<{ runnerId: string; progress: SpawnProgress[] }> {
    const progress: SpawnProgress[] = [];
    const runner = await runners.spawn(alice, { image }, (event) => progress.push(event));
    return { runnerId: runner.runnerId, progress };
  }

  async function agentMount(
    runnerId: string,
  ): Promise<{ Name?: string; Destination: string; RW: boolean } | undefined> {
    const info = await docker.getContainer(`devhatchery-${runnerId}`).inspect();
    return (info.Mounts as Array<{ Name?: string; Destination: string; RW: boolean }>).find(
      (mount) => mount.Destination === "/opt/devhatchery",
    );
  }

  beforeAll(async () => {
    fixture = await createAgentDeliveryFixture(suffix);
  });
  afterAll(async () => {
    await removeTestRunners([alice.id], network);
    await fixture?.cleanup();
  });

  it("injects the agent into a plain Debian image without Node, read-only at /opt/devhatchery, with /work as its work dir", async () => {
    const version = `0.0.0-test.${suffix}-inject`;
    const { runners, execs } = controlPlane(version);
    const { runnerId, progress } = await spawnWithProgress(runners, DEBIAN_IMAGE);
    expect(progress.map((event) => event.phase).slice(-3)).toEqual(["creating", "starting", "ready"]);
    expect(agentStatuses(progress)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^filling the agent volume "devhatchery-agent-/)]),
    );

    const info = await docker.getContainer(`devhatchery-${runnerId}`).inspect();
    expect(info.Config.Entrypoint).toEqual(["/opt/devhatchery/bin/node", "/opt/devhatchery/agent.cjs"]);
    expect(info.HostConfig.Init).toBe(true);
    const mount = await agentMount(runnerId);
    expect(mount).toMatchObject({ Destination: "/opt/devhatchery", RW: false });
    expect(mount?.Name).toMatch(VOLUME_NAME);
    const volume = await docker.getVolume(mount?.Name ?? "").inspect();
    expect(volume.Labels).toEqual({
      "io.devhatchery.managed": "true",
      "io.devhatchery.kind": "agent",
      "io.devhatchery.agent.version": version,
      "io.devhatchery.agent.digest": expect.stringMatching(/^[0-9a-f]{12}$/),
      "io.devhatchery.agent.arch": "x64",
    });
    expect(mount?.Name).toContain(`-${volume.Labels["io.devhatchery.agent.digest"]}-x64`);

    const probe = await execs.run(
      alice,
      runnerId,
      { command: "command -v node || echo 'no node on PATH'; pwd; ls -A /opt/devhatchery; cat /proc/1/comm" },
      () => {},
    );
    expect(probe).toMatchObject({ exitCode: 0, stdout: `no node on PATH\n/work\n${VOLUME_LISTING}docker-init\n` });
    const write = await execs.run(alice, runnerId, { command: "touch /opt/devhatchery/agent.cjs" }, () => {});
    expect(write).toMatchObject({
      exitCode: 1,
      stderr: "touch: cannot touch '/opt/devhatchery/agent.cjs': Read-only file system\n",
    });
    const node = await execs.run(
      alice,
      runnerId,
      { command: ["/opt/devhatchery/bin/node", "-p", "process.version + ' ' + process.arch"] },
      () => {},
    );
    expect(node).toMatchObject({ exitCode: 0, stdout: "v24.21.0 x64\n" });
    expect(await agentHelperNames(version)).toEqual([]);
  });

  it("serves every agent capability in an injected runner: exec with a pty, files and watches", async () => {
    const { runners, execs } = controlPlane(`0.0.0-test.${suffix}-capabilities`);
    const { runnerId } = await spawnWithProgress(runners, DEBIAN_IMAGE);
    const agent = await runners.connect(alice, runnerId);

    const written = await agent.fs.write("/work/src/main.c", Buffer.from("int main(void) { return 0; }\n"), {
      createParents: true,
      mode: 0,
    });
    expect(written).toMatchObject({ path: "/work/src/main.c", size: 29, type: "file" });
    expect((await agent.fs.read("/work/src/main.c", 0, 0)).data.toString()).toBe("int main(void) { return 0; }\n");
    expect((await agent.fs.list("/work", 100, 2)).entries.map((entry) => entry.path)).toEqual([
      "/work/src",
      "/work/src/main.c",
    ]);

    // The pty addon ships in the agent volume beside the bundle.
    let ptyOutput = "";
    const pty = agent.exec.start(
      {
        argv: [],
        shell: "stty size",
        cwd: "",
        env: {},
        timeoutMs: 10_000,
        stdin: Buffer.alloc(0),
        stdinOpen: false,
        pty: { rows: 33, cols: 101 },
      },
      (event) => {
        if (event.type === "output") ptyOutput += event.data.toString();
      },
    );
    expect(await pty.ended).toMatchObject({ reason: "exited", exitCode: 0 });
    expect(ptyOutput.trim()).toBe("33 101");

    const watch = await agent.watch.start({
      path: "/work",
      recursive: true,
      ignore: [],
      gitignore: true,
      debounceMs: 50,
    });
    await execs.run(alice, runnerId, { command: "echo hi > /work/src/new.txt" }, () => {});
    const changes = await agent.watch.read(watch.watchId, 0, 10_000, 0);
    const paths = changes.events.flatMap((event) =>
      event.type === "changes" ? event.changes.map((change) => change.path) : [],
    );
    expect(paths).toContain("src/new.txt");
    runners.close();
  });

  it("creates the volume once and reuses it: later spawns, also by a restarted control plane, do not refill it", async () => {
    const version = `0.0.0-test.${suffix}-reuse`;
    const first = controlPlane(version);
    const created = await spawnWithProgress(first.runners, DEBIAN_IMAGE);
    const volumeName = (await agentMount(created.runnerId))?.Name ?? "";
    const { CreatedAt: createdAt } = (await docker.getVolume(volumeName).inspect()) as { CreatedAt?: string };
    expect(agentStatuses(created.progress).filter((status) => status.startsWith("filling"))).toHaveLength(1);

    const again = await spawnWithProgress(first.runners, DEBIAN_IMAGE);
    expect(agentStatuses(again.progress)).toEqual([]);
    const restarted = controlPlane(version);
    const afterRestart = await spawnWithProgress(restarted.runners, DEBIAN_IMAGE);
    expect(agentStatuses(afterRestart.progress)).toEqual([]);

    expect((await agentMount(again.runnerId))?.Name).toBe(volumeName);
    expect((await agentMount(afterRestart.runnerId))?.Name).toBe(volumeName);
    expect(((await docker.getVolume(volumeName).inspect()) as { CreatedAt?: string }).CreatedAt).toBe(createdAt);
    const { Volumes: volumes } = await docker.listVolumes({
      filters: { label: [`io.devhatchery.agent.version=${version}`] },
    });
    expect(volumes?.map((volume) => volume.Name)).toEqual([volumeName]);
    const result = await restarted.execs.run(alice, afterRestart.runnerId, { command: "echo $((6*7))" }, () => {});
    expect(result).toMatchObject({ exitCode: 0, stdout: "42\n" });
  });

  it("rebuilds a volume whose fill never completed (no completion marker)", async () => {
    const version = `0.0.0-test.${suffix}-broken`;
    const first = controlPlane(version);
    const { runnerId } = await spawnWithProgress(first.runners, DEBIAN_IMAGE);
    const volumeName = (await agentMount(runnerId))?.Name ?? "";
    await removeTestRunners([alice.id]);
    // A filler that died half-way: a truncated bundle and no marker.
    const breaker = await docker.createContainer({
      Image: DEBIAN_IMAGE,
      Cmd: ["sh", "-c", "rm /v/.devhatchery-agent-complete && truncate -s 100 /v/agent.cjs"],
      HostConfig: { NetworkMode: "none", Mounts: [{ Type: "volume", Source: volumeName, Target: "/v" }] },
    });
    await breaker.start();
    expect((await breaker.wait()) as { StatusCode: number }).toMatchObject({ StatusCode: 0 });
    await breaker.remove();

    const restarted = controlPlane(version);
    const rebuilt = await spawnWithProgress(restarted.runners, DEBIAN_IMAGE);
    expect(agentStatuses(rebuilt.progress)).toEqual([
      `recreating the incomplete agent volume "${volumeName}"`,
      `filling the agent volume "${volumeName}"`,
    ]);
    expect((await agentMount(rebuilt.runnerId))?.Name).toBe(volumeName);
    const result = await restarted.execs.run(
      alice,
      rebuilt.runnerId,
      { command: "ls -A /opt/devhatchery && test $(stat -c %s /opt/devhatchery/agent.cjs) -gt 100000 && echo whole" },
      () => {},
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: `${VOLUME_LISTING}whole\n` });

    // Removed behind the running control plane's back: filled again rather than mounted empty.
    await removeTestRunners([alice.id]);
    await docker.getVolume(volumeName).remove();
    const refilled = await spawnWithProgress(restarted.runners, DEBIAN_IMAGE);
    expect(agentStatuses(refilled.progress)).toEqual([`filling the agent volume "${volumeName}"`]);
    await expect(restarted.execs.run(alice, refilled.runnerId, { command: "true" }, () => {})).resolves.toMatchObject({
      exitCode: 0,
    });
  });

  it("fills a new volume exactly once when first spawns race, within one control plane and across two", async () => {
    const version = `0.0.0-test.${suffix}-race`;
    const one = controlPlane(version);
    const two = controlPlane(version);
    const spawns = await Promise.all([
      spawnWithProgress(one.runners, DEBIAN_IMAGE),
      spawnWithProgress(one.runners, DEBIAN_IMAGE),
      spawnWithProgress(two.runners, DEBIAN_IMAGE),
      spawnWithProgress(two.runners, DEBIAN_IMAGE),
    ]);
    const fills = spawns
      .flatMap((spawn) => agentStatuses(spawn.progress))
      .filter((status) => status.startsWith("filling"));
    expect(fills).toHaveLength(1);
    const names = new Set(await Promise.all(spawns.map(async (spawn) => (await agentMount(spawn.runnerId))?.Name)));
    expect(names.size).toBe(1);
    const { Volumes: volumes } = await docker.listVolumes({
      filters: { label: [`io.devhatchery.agent.version=${version}`] },
    });
    expect(volumes).toHaveLength(1);
    for (const [index, spawn] of spawns.entries()) {
      const execs = index < 2 ? one.execs : two.execs;
      await expect(
        execs.run(alice, spawn.runnerId, { command: "cat /opt/devhatchery/.devhatchery-agent-complete" }, () => {}),
      ).resolves.toMatchObject({
        exitCode: 0,
        stdout: expect.stringContaining(`"version":"${version}"`),
      });
    }
    expect(await agentHelperNames(version)).toEqual([]);
  });

  it("breaks a lock left behind by a filler that died, and times out with advice on a lock that is held", async () => {
    const version = `0.0.0-test.${suffix}-lock`;
    const options = fixture.options(version);
    const payload = new AgentPayload(options.bundlePath, version, new NodeRuntimeCache(options, log));
    const volumeName = payload.volumeName(await payload.snapshot(), "x64");
    const leaveLock = (): Promise<unknown> =>
      docker.createContainer({
        name: `${volumeName}-lock`,
        Image: DEBIAN_IMAGE,
        Labels: { "io.devhatchery.kind": "agent-helper", "io.devhatchery.agent.volume": volumeName },
      });

    await leaveLock();
    const held = new DockerRuntime(log, undefined, { ...options, timing: { lockWaitMs: 500, lockStaleMs: 600_000 } });
    await expect(held.agentVolumes.ensure("amd64", DEBIAN_IMAGE)).rejects.toMatchObject({
      code: "TIMEOUT",
      message: `Agent volume "${volumeName}" has been locked by another filler for over 500 ms; if no control plane is filling it, remove the container "${volumeName}-lock" and spawn again.`,
    });

    const progress: string[] = [];
    const breaking = new DockerRuntime(log, undefined, { ...options, timing: { lockWaitMs: 20_000, lockStaleMs: 0 } });
    await expect(breaking.agentVolumes.ensure("amd64", DEBIAN_IMAGE, (status) => progress.push(status))).resolves.toBe(
      volumeName,
    );
    expect(progress).toEqual([
      `waiting for another control plane to fill the agent volume "${volumeName}"`,
      `filling the agent volume "${volumeName}"`,
    ]);
    expect(await agentHelperNames(version)).toEqual([]);
  });

  it("chooses baked for an image labelled with io.devhatchery.agent.version: its own entrypoint, no agent volume", async () => {
    const { runners, execs } = controlPlane();
    const { runnerId, progress } = await spawnWithProgress(runners, RUNNER_IMAGE);
    expect(agentStatuses(progress)).toEqual([]);
    expect(await agentMount(runnerId)).toBeUndefined();
    const info = await docker.getContainer(`devhatchery-${runnerId}`).inspect();
    const image = await docker.getImage(RUNNER_IMAGE).inspect();
    expect(image.Config.Labels?.["io.devhatchery.agent.version"]).toBeTruthy();
    expect(info.Config.Entrypoint).toEqual(image.Config.Entrypoint);
    // Baked delivery: no agent volume; /work is the runner's workspace volume, beside the agent's anonymous spill volume.
    expect(info.Mounts?.map((mount) => mount.Destination).sort()).toEqual(["/var/tmp/devhatchery-agent", "/work"]);
    await expect(execs.run(alice, runnerId, { command: "pwd" }, () => {})).resolves.toMatchObject({
      exitCode: 0,
      stdout: "/work\n",
    });
  });

  it("says what is missing when the agent bundle cannot be found, and creates nothing", async () => {
    const bundlePath = `/nonexistent-${suffix}/agent.cjs`;
    const runners = new RunnerService(
      new DockerRuntime(log, undefined, { ...fixture.options(), bundlePath }),
      createSqliteStateStore(":memory:"),
      { defaultImage: RUNNER_IMAGE, network, readyTimeoutMs: 20_000 },
      log,
    );
    const before = await countRunners(alice.id);
    const error = await runners.spawn(alice, { image: DEBIAN_IMAGE }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "RUNNER_START_FAILED",
      message:
        `Cannot prepare the injected agent: the agent bundle "${bundlePath}" is missing (ENOENT). ` +
        "Build it with `npm run build`, or set DEVHATCHERY_AGENT_BUNDLE to the path of agent.cjs.",
    });
    expect(await countRunners(alice.id)).toBe(before);
  });

  it("refuses an architecture the agent's Node runtime does not exist for", async () => {
    const runtime = new DockerRuntime(log, undefined, fixture.options());
    await expect(runtime.agentVolumes.ensure("s390x", DEBIAN_IMAGE)).rejects.toMatchObject({
      code: "RUNNER_START_FAILED",
      message:
        `Image "${DEBIAN_IMAGE}" is built for architecture "s390x"; the injected agent exists for amd64 and arm64 only. ` +
        "Use an amd64 or arm64 image, or build the image with the agent baked in (images/README.md).",
    });
  });
});
