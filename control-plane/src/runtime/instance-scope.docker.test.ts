import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../test/docker-cleanup.js";
import { createRuntimeFixture, RUNNER_IMAGE, type RuntimeFixture } from "../../test/runtime-fixture.js";
import { createLogger } from "../log.js";
import { DockerRuntime } from "./docker-runtime.js";
import { workspaceVolumeName } from "./docker-workspace-volumes.js";
import { InstanceScope } from "./instance-scope.js";

/** A runtime of another instance on the same engine; it injects no agent, so it needs no agent bundle. */
function runtimeOf(scope: InstanceScope): DockerRuntime {
  return new DockerRuntime(
    createLogger("silent"),
    undefined,
    { bundlePath: "/nonexistent/agent.cjs", cacheDir: tmpdir() },
    scope,
  );
}

describe("instances on one engine (label io.devhatchery.instance)", () => {
  let fixture: RuntimeFixture;

  beforeAll(async () => {
    fixture = await createRuntimeFixture("instance");
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it("never finds, lists or removes another instance's runners and workspace volumes, even for the same principal and key", async () => {
    const { runtime, principal } = fixture;
    const other = runtimeOf(new InstanceScope(`other-${fixture.suffix}`));
    const runner = await fixture.start();
    expect(
      (await docker.getContainer(`devhatchery-${runner.runnerId}`).inspect()).Config.Labels["io.devhatchery.instance"],
    ).toBe("default");
    expect(await other.containers.findRunner(runner.runnerId)).toBeUndefined();
    expect(await other.containers.listRunners(principal)).toEqual([]);
    expect((await other.containers.listAllRunners()).map((found) => found.runnerId)).not.toContain(runner.runnerId);
    expect((await runtime.containers.listRunners(principal)).map((found) => found.runnerId)).toEqual([runner.runnerId]);

    const mine = await runtime.workspaces.ensure(principal, "shared-key", new Date().toISOString());
    expect(await other.workspaces.find(principal, "shared-key")).toBeUndefined();
    expect(await other.workspaces.list(principal)).toEqual([]);
    await expect(other.workspaces.remove(mine.name)).rejects.toMatchObject({ code: "NOT_FOUND" });
    const theirs = await other.workspaces.ensure(principal, "shared-key", new Date().toISOString());
    expect(theirs.name).not.toBe(mine.name);
    expect((await runtime.workspaces.list(principal)).map((volume) => volume.name)).toEqual([mine.name]);
    expect((await other.workspaces.list(principal)).map((volume) => volume.name)).toEqual([theirs.name]);
  });

  it("leaves objects made before instance labels alone, unless told to adopt them (then under their old names)", async () => {
    const { runtime, principal } = fixture;
    const legacyId = `r${randomBytes(6).toString("hex")}`;
    const labels = {
      "io.devhatchery.managed": "true",
      "io.devhatchery.owner": principal,
      "io.devhatchery.created": new Date().toISOString(),
    };
    await docker.createContainer({
      name: `devhatchery-${legacyId}`,
      Image: RUNNER_IMAGE,
      Labels: {
        ...labels,
        "io.devhatchery.kind": "runner",
        "io.devhatchery.runner": legacyId,
        "io.devhatchery.storage": "tmpfs",
      },
    });
    const legacyVolume = workspaceVolumeName(principal, "legacy-key");
    await docker.createVolume({
      Name: legacyVolume,
      Labels: { ...labels, "io.devhatchery.kind": "workspace", "io.devhatchery.workspace": "legacy-key" },
    });

    expect(await runtime.containers.findRunner(legacyId)).toBeUndefined();
    expect((await runtime.containers.listAllRunners()).map((found) => found.runnerId)).not.toContain(legacyId);
    expect(await runtime.workspaces.find(principal, "legacy-key")).toBeUndefined();
    // Not served, but counted, so an upgraded control plane can say where the objects went and how to adopt them.
    const unserved = await runtime.engine.countUnservedLegacyObjects();
    expect(unserved.runners).toBeGreaterThanOrEqual(1);
    expect(unserved.volumes).toBeGreaterThanOrEqual(1);

    const adopting = runtimeOf(new InstanceScope("default", true));
    expect(await adopting.engine.countUnservedLegacyObjects()).toEqual({ runners: 0, volumes: 0 });
    expect(await adopting.containers.findRunner(legacyId)).toMatchObject({
      runnerId: legacyId,
      principal,
      state: "created",
    });
    expect((await adopting.containers.listRunners(principal)).map((found) => found.runnerId)).toContain(legacyId);
    expect(await adopting.workspaces.find(principal, "legacy-key")).toMatchObject({
      name: legacyVolume,
      workspaceKey: "legacy-key",
    });
    expect((await adopting.workspaces.ensure(principal, "legacy-key", new Date().toISOString())).name).toBe(
      legacyVolume,
    );
    // Adopting unlabelled objects never extends to another instance's.
    expect(
      (await runtimeOf(new InstanceScope(`third-${fixture.suffix}`, true)).containers.listRunners(principal)).map(
        (found) => found.runnerId,
      ),
    ).toEqual([legacyId]);
  });

  it("never resolves another instance's snapshot image, by name or by id, even for the same principal", async () => {
    const { runtime, principal } = fixture;
    const other = runtimeOf(new InstanceScope(`other-${fixture.suffix}`));
    const source = await fixture.start();
    const snapshot = await runtime.snapshots.commit(source.runnerId, {
      snapshotId: "s-0000000000c1",
      principal,
      createdAt: new Date().toISOString(),
    });
    try {
      const mine = await runtime.images.inspect(snapshot.image);
      expect(mine).toMatchObject({ otherInstance: false, labels: { "io.devhatchery.instance": "default" } });
      expect(await other.images.inspect(snapshot.image)).toMatchObject({ otherInstance: true });
      expect(await other.snapshots.list(principal)).toEqual([]);
    } finally {
      await runtime.snapshots.remove(principal, snapshot.snapshotId);
    }
  });
});
