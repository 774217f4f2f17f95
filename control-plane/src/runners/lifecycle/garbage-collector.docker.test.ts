import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test/docker-cleanup.js";
import { LocalRegistry, pushRandomImage } from "../../../test/local-registry.js";
import { DEBIAN_IMAGE } from "../../../test/runtime-fixture.js";
import type { AuditEvent } from "../../audit.js";
import { DEFAULT_AGENT_BUNDLE } from "../../config.js";
import { createLogger } from "../../log.js";
import { DockerRuntime } from "../../runtime/docker-runtime.js";
import { KIND, LABEL } from "../../runtime/labels.js";
import { createSqliteStateStore } from "../../store/sqlite-state-store.js";
import type { StateStore } from "../../store/state-store.js";
import { ImageGate } from "../spawn/image-gate.js";
import { GarbageCollector, type GarbageHooks } from "./garbage-collector.js";
import { LEFTOVER_GRACE_MS } from "./garbage-plan.js";

const log = createLogger("silent");
const runtime = new DockerRuntime(log, undefined, { bundlePath: DEFAULT_AGENT_BUNDLE, cacheDir: tmpdir() });
const noProgress = (): void => {};
const NO_HOOKS: GarbageHooks = {
  removeRunner: () => Promise.reject(new Error("no runner expires here")),
  removeWorkspace: () => Promise.reject(new Error("no workspace expires here")),
  notify: () => undefined,
};
const LIFECYCLE = {
  idleStopAfterS: 0,
  idleAction: "stop" as const,
  idleCheckIntervalS: 30,
  runnerMaxLifetimeS: 0,
  workspaceRetentionS: 0,
  snapshotRetentionS: 0,
  exportRetentionS: 0,
  retentionWarningS: 0,
  gcIntervalS: 3600,
  gcImages: true,
};

describe("garbage collection of what DevHatchery leaves on the engine", () => {
  const suffix = randomBytes(4).toString("hex");
  let dir: string;
  let registry: LocalRegistry;
  let store: StateStore;
  const images: string[] = [];
  const containers: string[] = [];
  const volumes: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-gc-"));
    registry = new LocalRegistry(dir, "registry");
    await registry.start(false);
    store = createSqliteStateStore(join(dir, "state.db"));
  });
  afterAll(async () => {
    store?.close();
    registry?.stop();
    for (const id of containers)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const image of images)
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    for (const volume of volumes)
      await docker
        .getVolume(volume)
        .remove()
        .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it("removes images pulled for runners once no container uses them, with an audit record each; never one in use", async () => {
    const gate = new ImageGate(
      runtime,
      { defaultImage: DEBIAN_IMAGE, allowed: [], pull: "missing", registries: undefined, allowIdReferences: false },
      (image) => store.recordPulledImage(image, new Date().toISOString()),
    );
    const unused = `${registry.address}/devhatchery-test/gc-unused-${suffix}:1`;
    const used = `${registry.address}/devhatchery-test/gc-used-${suffix}:1`;
    for (const image of [unused, used]) {
      images.push(await pushRandomImage(dir, image, registry.address));
      await docker.getImage(image).remove({ force: true });
      // The real pull path records what it pulled.
      await gate.prepare("alice", await gate.choose("alice", image), noProgress);
    }
    expect(store.pulledImages().map((row) => row.image)).toEqual([unused, used].sort());
    const user = await docker.createContainer({ Image: used, Entrypoint: ["/never-started"] });
    containers.push(user.id);

    const audit: AuditEvent[] = [];
    const collector = new GarbageCollector(
      runtime,
      store,
      { lifecycle: LIFECYCLE, exportRoot: join(dir, "exports"), keepImages: [DEBIAN_IMAGE] },
      NO_HOOKS,
      log,
      { record: (event) => audit.push(event) },
    );
    const plan = await collector.plan();
    expect(plan.due.filter((item) => item.kind === "image").map((item) => item.id)).toEqual([unused]);
    const report = await collector.collect();
    expect(report.deleted.filter((item) => item.kind === "image").map((item) => item.id)).toEqual([unused]);
    expect(await runtime.images.inspect(unused)).toBeUndefined();
    expect(await runtime.images.inspect(used)).toBeDefined();
    expect(store.pulledImages().map((row) => row.image)).toEqual([used]);
    expect(audit.filter((event) => event.kind === "image")).toEqual([
      expect.objectContaining({ action: "gc.delete", outcome: "ok", id: unused, reason: "unused_pulled_image" }),
    ]);
  });

  it("plans agent volumes of other agent versions and dangling helpers once they are old, never mounted ones", async () => {
    const other = `devhatchery-agent-test-${suffix}-x64`;
    const mounted = `devhatchery-agent-test-mounted-${suffix}-x64`;
    for (const name of [other, mounted]) {
      await docker.createVolume({
        Name: name,
        Labels: {
          [LABEL.managed]: "true",
          [LABEL.kind]: KIND.agent,
          [LABEL.agentVersion]: "0.0.0-test",
          [LABEL.agentDigest]: suffix,
          [LABEL.agentArch]: "x64",
        },
      });
      volumes.push(name);
    }
    const helper = await docker.createContainer({
      name: `devhatchery-gc-helper-${suffix}`,
      Image: DEBIAN_IMAGE,
      Entrypoint: ["/never-started"],
      Labels: { [LABEL.managed]: "true", [LABEL.kind]: KIND.agentHelper, [LABEL.agentVolume]: mounted },
      HostConfig: { Binds: [`${mounted}:/mnt:ro`] },
    });
    containers.push(helper.id);
    const plan = async (now: number) => {
      const collector = new GarbageCollector(
        runtime,
        store,
        { lifecycle: { ...LIFECYCLE, gcImages: false }, exportRoot: join(dir, "exports"), keepImages: [] },
        NO_HOOKS,
        log,
        { record: () => undefined },
        undefined,
        () => now,
      );
      return (await collector.plan()).due.map((item) => `${item.kind}:${item.id}`);
    };
    // Fresh: another control plane may be filling them right now.
    const fresh = await plan(Date.now());
    expect(fresh).not.toContain(`agent_volume:${other}`);
    expect(fresh).not.toContain(`helper_container:devhatchery-gc-helper-${suffix}`);
    const later = await plan(Date.now() + LEFTOVER_GRACE_MS + 60_000);
    expect(later).toContain(`agent_volume:${other}`);
    expect(later).toContain(`helper_container:devhatchery-gc-helper-${suffix}`);
    // The helper mounts the other volume: it is kept until the helper is gone.
    expect(later).not.toContain(`agent_volume:${mounted}`);

    // The deletions themselves (a collection at that time would also take other tests' fresh leftovers).
    await expect(runtime.leftovers.removeAgentVolume(mounted)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    await runtime.leftovers.removeHelper(helper.id);
    await runtime.leftovers.removeAgentVolume(mounted);
    await runtime.leftovers.removeAgentVolume(other);
    const left = (await runtime.leftovers.agentVolumes()).map((volume) => volume.name);
    expect(left).not.toContain(other);
    expect(left).not.toContain(mounted);
  });
});
