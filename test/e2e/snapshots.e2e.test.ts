import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { TEST_RUNNER_IMAGE } from "../support/control-plane-process.js";
import {
  fails,
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

const SNAPSHOT_ID = /^s-[0-9a-f]{12}$/;
const INSTALL =
  "printf '#!/bin/sh\\necho tool-ok\\n' > /opt/tool.sh && chmod +x /opt/tool.sh && echo source-work > /work/only-here.txt";

describe("snapshots through a real MCP client", () => {
  // images.allowed admits only the test images: the caller's own snapshots are spawnable all the same.
  const { principals, network, env } = testIdentities("snapshots", ["alice", "bob"]);
  let plane: RunnersControlPlane;
  let alice: Client;
  let bob: Client;
  let sourceId = "";
  let snapshot: Record<string, unknown> = {};

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, {
      ...env,
      DEVHATCHERY_ALLOWED_IMAGES: "devhatchery-test/*",
    });
    [alice, bob] = plane.clients as [Client, Client];
    sourceId = (await ok(alice, "runner_spawn", { alias: "source", workspace_key: "snap-src" })).runner_id as string;
    await sh(alice, "source", INSTALL);
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("takes a snapshot of a runner, with everything outside /work", async () => {
    snapshot = await ok(alice, "snapshot_create", { runner: "source", name: "with-tool" });
    expect(snapshot).toEqual({
      snapshot_id: expect.stringMatching(SNAPSHOT_ID),
      name: "with-tool",
      image: expect.stringMatching(/^devhatchery-snapshot\/[0-9a-f]{20}:s-[0-9a-f]{12}$/),
      source_runner: sourceId,
      source_image: TEST_RUNNER_IMAGE,
      created_at: expect.any(String),
      size_bytes: expect.any(Number),
    });
    expect(snapshot.image).toBe(`${(snapshot.image as string).split(":")[0]}:${snapshot.snapshot_id}`);
    expect(await ok(alice, "snapshot_list")).toEqual({ snapshots: [snapshot] });
    // The source runner keeps running.
    expect(await sh(alice, "source", "cat /work/only-here.txt")).toBe("source-work\n");

    expect(await fails(alice, "snapshot_create", { runner: "source", name: "with-tool" })).toMatch(
      new RegExp(
        `^Error ALREADY_EXISTS: Snapshot name "with-tool" is already taken by your snapshot "${snapshot.snapshot_id}"`,
      ),
    );
    expect((await fails(alice, "snapshot_create", { runner: "no-such-runner" })).split("\n")[0]).toBe(
      'Error NOT_FOUND: Runner "no-such-runner" not found for this principal; spawn one with runner_spawn.',
    );
  });

  it("spawns from the snapshot by id and by name: the tool is there, /work is the new runner's own", async () => {
    const byId = await ok(alice, "runner_spawn", { snapshot: snapshot.snapshot_id, alias: "copy-id" });
    expect(byId).toMatchObject({ status: "ready", image: snapshot.image, alias: "copy-id" });
    expect(await sh(alice, "copy-id", "/opt/tool.sh && ls -A /work")).toBe("tool-ok\n");

    const byName = await ok(alice, "runner_spawn", { snapshot: "with-tool", storage: "tmpfs" });
    expect(byName).toMatchObject({ status: "ready", image: snapshot.image, storage: "tmpfs" });
    expect(await sh(alice, byName.runner_id as string, "/opt/tool.sh && ls -A /work")).toBe("tool-ok\n");
    // The source's alias and workspace did not come along.
    expect(byName.alias).toBeUndefined();
    expect(byName.workspace_key).toBeUndefined();
    expect(await sh(alice, "source", "cat /work/only-here.txt")).toBe("source-work\n");
    await ok(alice, "runner_remove", { runner: byName.runner_id, remove_volume: true });
  });

  it("refuses image and snapshot together, and snapshots that do not exist", async () => {
    expect(
      (await fails(alice, "runner_spawn", { image: TEST_RUNNER_IMAGE, snapshot: "with-tool" })).split("\n")[0],
    ).toBe(
      `Error INVALID_ARGUMENT: image "${TEST_RUNNER_IMAGE}" and snapshot "with-tool" were both given; a runner runs one of them: pass snapshot to start from your snapshot, or image for an image.`,
    );
    // The allowlist is in force for images.
    expect(await fails(alice, "runner_spawn", { image: "busybox:1" })).toMatch(
      /^Error POLICY_DENIED: image "busybox:1" is not allowed on this server/,
    );
    // The hint leads to the snapshot tools, not to runners or files.
    expect(await fails(alice, "runner_spawn", { snapshot: "s-000000000000" })).toBe(
      'Error NOT_FOUND: Snapshot "s-000000000000" not found for this principal; list your snapshots with snapshot_list, or create one with snapshot_create.\n' +
        "snapshot_list shows your snapshots by id and name; snapshot_create takes a new one from a runner.",
    );
  });

  it("keeps snapshots to their principal: the other cannot list, spawn from or remove them", async () => {
    expect(await ok(bob, "snapshot_list")).toEqual({ snapshots: [] });
    for (const ref of [snapshot.snapshot_id as string, "with-tool"]) {
      const notFound = `Error NOT_FOUND: Snapshot "${ref}" not found for this principal; list your snapshots with snapshot_list, or create one with snapshot_create.`;
      expect((await fails(bob, "runner_spawn", { snapshot: ref })).split("\n")[0]).toBe(notFound);
      expect((await fails(bob, "snapshot_remove", { snapshot: ref })).split("\n")[0]).toBe(notFound);
    }
    // Nor by naming the image itself.
    expect((await fails(bob, "runner_spawn", { image: snapshot.image })).split("\n")[0]).toBe(
      `Error IMAGE_NOT_FOUND: Image "${snapshot.image as string}" not found: no image of that name on the Docker host is available to this principal. ` +
        'Name an image by repository and tag (image ids are not accepted), e.g. "devhatchery-test/runner:dev", or pass one of your snapshots (snapshot_list) as snapshot.',
    );
    // Nor snapshot alice's runner.
    expect((await fails(bob, "snapshot_create", { runner: sourceId })).split("\n")[0]).toBe(
      `Error NOT_FOUND: Runner "${sourceId}" not found for this principal; spawn one with runner_spawn.`,
    );
    expect(await ok(alice, "snapshot_list")).toEqual({ snapshots: [snapshot] });
  });

  it("refuses to remove a snapshot while a runner from it exists, even stopped, then removes it", async () => {
    const copy = (await ok(alice, "runner_list")).runners as { runner_id: string; alias?: string }[];
    const copyId = copy.find((runner) => runner.alias === "copy-id")?.runner_id ?? "";
    await ok(alice, "runner_stop", { runner: "copy-id" });
    expect(await fails(alice, "snapshot_remove", { snapshot: "with-tool" })).toBe(
      `Error FAILED_PRECONDITION: Snapshot "${snapshot.snapshot_id as string}" is still used by runner "${copyId}" spawned from it; remove that runner with runner_remove first (stopped ones count too), then remove the snapshot.\n` +
        "runner_list shows your runners, stopped ones too; runner_remove the ones spawned from this snapshot (their workspaces are kept), then call snapshot_remove again.",
    );
    await ok(alice, "runner_remove", { runner: "copy-id", remove_volume: true });
    expect(await ok(alice, "snapshot_remove", { snapshot: "with-tool" })).toEqual({ snapshot, removed: true });
    expect(await ok(alice, "snapshot_list")).toEqual({ snapshots: [] });
    await expect(docker.getImage(snapshot.image as string).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await fails(alice, "runner_spawn", { snapshot: "with-tool" })).split("\n")[0]).toMatch(
      /^Error NOT_FOUND: Snapshot "with-tool" not found/,
    );
  });
});
