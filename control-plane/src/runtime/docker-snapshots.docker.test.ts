import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeTestSnapshots } from "../../test/docker-cleanup.js";
import { createRuntimeFixture, DEBIAN_IMAGE, RUNNER_IMAGE, type RuntimeFixture } from "../../test/runtime-fixture.js";
import { ControlPlaneError } from "../errors.js";
import { snapshotImageRef, snapshotRepository } from "./docker-snapshots.js";

const TOOL = [
  "sh",
  "-c",
  "printf '#!/bin/sh\\necho tool-ok\\n' > /opt/tool.sh && chmod +x /opt/tool.sh && echo in-work > /work/w.txt",
];

describe("DockerRuntime: snapshots", () => {
  let fixture: RuntimeFixture;

  beforeAll(async () => {
    fixture = await createRuntimeFixture("snapshots");
  });
  afterAll(async () => {
    if (!fixture) return;
    for (const owner of [fixture.principal, fixture.otherPrincipal]) {
      const runners = await fixture.runtime.containers.listRunners(owner);
      await Promise.all(runners.map((runner) => fixture.runtime.containers.removeRunner(runner.runnerId)));
    }
    await removeTestSnapshots([fixture.principal, fixture.otherPrincipal]);
    await fixture.cleanup();
  });

  it("commits a runner's filesystem but not /work, labelled as its owner's snapshot, without the agent token or the runner's labels", async () => {
    const { runtime, principal } = fixture;
    const source = await fixture.start({ alias: "builder", env: { MY_SETTING: "kept" } });
    expect(await fixture.exec(source.runnerId, TOOL)).toEqual({ exitCode: 0, output: "" });
    const createdAt = new Date().toISOString();
    const snapshot = await runtime.snapshots.commit(source.runnerId, {
      snapshotId: "s-00000000000a",
      principal,
      name: "with-tool",
      createdAt,
    });
    const image = snapshotImageRef(principal, "s-00000000000a");
    expect(image).toMatch(/^devhatchery-snapshot\/[0-9a-f]{20}:s-00000000000a$/);
    expect(snapshot).toEqual({
      snapshotId: "s-00000000000a",
      principal,
      name: "with-tool",
      image,
      sourceRunner: source.runnerId,
      sourceImage: RUNNER_IMAGE,
      createdAt,
      sizeBytes: expect.any(Number),
    });
    expect(snapshot.sizeBytes).toBeGreaterThan(0);
    const config = (await docker.getImage(image).inspect()).Config;
    expect(config.Labels).toMatchObject({
      "io.devhatchery.managed": "true",
      "io.devhatchery.kind": "snapshot",
      "io.devhatchery.owner": principal,
      "io.devhatchery.snapshot": "s-00000000000a",
      "io.devhatchery.snapshot.name": "with-tool",
      "io.devhatchery.snapshot.source-runner": source.runnerId,
      "io.devhatchery.snapshot.source-image": RUNNER_IMAGE,
      "io.devhatchery.created": createdAt,
      // Inherited from the source image: runners from the snapshot still start their baked agent.
      "io.devhatchery.agent.version": expect.any(String),
      "io.devhatchery.alias": "",
      "io.devhatchery.runner": "",
    });
    expect(config.Env).toContain("DEVHATCHERY_AGENT_TOKEN=");
    expect(config.Env).toContain("MY_SETTING=kept");
    expect(
      config.Env?.some(
        (entry) => entry.startsWith("DEVHATCHERY_AGENT_TOKEN=") && entry.length > "DEVHATCHERY_AGENT_TOKEN=".length,
      ),
    ).toBe(false);

    // A runner from the snapshot has the tool, an empty /work of its own, and none of the source's alias.
    const copy = await fixture.start({ image });
    expect(copy.alias).toBeUndefined();
    expect(await fixture.exec(copy.runnerId, ["sh", "-c", "/opt/tool.sh && ls -A /work"])).toEqual({
      exitCode: 0,
      output: "tool-ok\n",
    });

    // Another principal's snapshot of it is labelled as theirs, not as the inherited owner.
    const other = fixture.otherPrincipal;
    const theirs = await runtime.snapshots.commit(copy.runnerId, {
      snapshotId: "s-00000000000b",
      principal: other,
      createdAt: new Date().toISOString(),
    });
    expect(theirs).toMatchObject({
      principal: other,
      name: undefined,
      sourceImage: image,
      image: `${snapshotRepository(other)}:s-00000000000b`,
    });
    expect((await docker.getImage(theirs.image).inspect()).Config.Labels?.["io.devhatchery.owner"]).toBe(other);
    await runtime.containers.removeRunner(copy.runnerId);
    await runtime.containers.removeRunner(source.runnerId);
  });

  it("lists and finds snapshots only for their owner, newest first", async () => {
    const { runtime, principal, otherPrincipal } = fixture;
    expect((await runtime.snapshots.list(principal)).map((snapshot) => snapshot.snapshotId)).toEqual([
      "s-00000000000a",
    ]);
    expect((await runtime.snapshots.list(otherPrincipal)).map((snapshot) => snapshot.snapshotId)).toEqual([
      "s-00000000000b",
    ]);
    expect(await runtime.snapshots.find(principal, "s-00000000000a")).toMatchObject({ name: "with-tool" });
    expect(await runtime.snapshots.find(otherPrincipal, "s-00000000000a")).toBeUndefined();
    expect(await runtime.snapshots.find(principal, "s-00000000000b")).toBeUndefined();
  });

  it("refuses to remove a snapshot a runner (even a stopped one) uses, naming it, and removes it afterwards", async () => {
    const { runtime, principal, otherPrincipal } = fixture;
    const user = await fixture.start({ image: snapshotImageRef(principal, "s-00000000000a") });
    await runtime.containers.stopRunner(user.runnerId, 5);
    const refused = await runtime.snapshots.remove(principal, "s-00000000000a").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ControlPlaneError);
    expect(refused).toMatchObject({
      code: "FAILED_PRECONDITION",
      message: `Snapshot "s-00000000000a" is still used by runner "${user.runnerId}" spawned from it; remove that runner with runner_remove first (stopped ones count too), then remove the snapshot.`,
    });
    await runtime.containers.removeRunner(user.runnerId);
    // Its own later snapshot (another principal's here) keeps the layers it needs; the tag goes.
    await runtime.snapshots.remove(principal, "s-00000000000a");
    expect(await runtime.snapshots.find(principal, "s-00000000000a")).toBeUndefined();
    expect(await runtime.snapshots.list(principal)).toEqual([]);
    await runtime.snapshots.remove(otherPrincipal, "s-00000000000b");
    expect(await runtime.snapshots.list(otherPrincipal)).toEqual([]);
  });

  it("snapshots a runner with the injected agent without baking the agent's entrypoint or the hardened user into the image", async () => {
    const { runtime, principal } = fixture;
    const source = await fixture.start({ image: DEBIAN_IMAGE, hardened: true });
    const snapshot = await runtime.snapshots.commit(source.runnerId, {
      snapshotId: "s-00000000000c",
      principal,
      createdAt: new Date().toISOString(),
    });
    const [base, committed] = await Promise.all([
      docker.getImage(DEBIAN_IMAGE).inspect(),
      docker.getImage(snapshot.image).inspect(),
    ]);
    expect(committed.Config.Entrypoint ?? []).toEqual(base.Config.Entrypoint ?? []);
    expect(committed.Config.Cmd).toEqual(base.Config.Cmd);
    expect(committed.Config.User).toBe("0:0");
    expect(committed.Config.Labels?.["io.devhatchery.agent.version"]).toBeUndefined();
    await runtime.containers.removeRunner(source.runnerId);
    const agentVolume = await runtime.agentVolumes.ensure(committed.Architecture, snapshot.image);
    const copy = await fixture.start({ image: snapshot.image, agentVolume });
    expect(await fixture.exec(copy.runnerId, ["id", "-u"])).toEqual({ exitCode: 0, output: "0\n" });
    await runtime.containers.removeRunner(copy.runnerId);
    await runtime.snapshots.remove(principal, "s-00000000000c");
  });
});
