import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import {
  containersOf,
  fails,
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

const SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- planted-by-alice";
/** A snapshot reference no principal has: what "does not exist" looks like. */
const ABSENT = "devhatchery-snapshot/ffffffffffffffffffff:s-ffffffffffff";

describe("another principal's snapshot cannot be run by any image reference", () => {
  // No images.allowed: every image is allowed, the setting in which the references below used to reach alice's snapshot.
  const { principals, network, env } = testIdentities("image-isolation", ["alice", "bob"]);
  let plane: RunnersControlPlane;
  let alice: Client;
  let bob: Client;
  let snapshot: Record<string, unknown> = {};
  let imageId = "";

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, env);
    [alice, bob] = plane.clients as [Client, Client];
    await ok(alice, "runner_spawn", { alias: "keys", storage: "tmpfs" });
    await sh(alice, "keys", `mkdir -p /root/.ssh && printf '%s' '${SECRET}' > /root/.ssh/id_ed25519`);
    snapshot = await ok(alice, "snapshot_create", { runner: "keys", name: "with-key" });
    imageId = (await docker.getImage(snapshot.image as string).inspect()).Id;
    // bob's workspace with no runner: runner_attach spawns one for it, with the image it is given.
    await ok(bob, "runner_spawn", { alias: "bob-1", workspace_key: "bob-ws" });
    await ok(bob, "runner_remove", { runner: "bob-1" });
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("refuses every reference to alice's snapshot exactly as it refuses an image that does not exist", async () => {
    const absentText = await fails(bob, "runner_spawn", { image: ABSENT });
    expect(absentText.split("\n")[0]).toBe(
      `Error IMAGE_NOT_FOUND: Image "${ABSENT}" not found: no image of that name on the Docker host is available to this principal. ` +
        'Name an image by repository and tag (image ids are not accepted), e.g. "devhatchery-test/runner:dev", or pass one of your snapshots (snapshot_list) as snapshot.',
    );
    const hex = imageId.replace(/^sha256:/, "");
    const image = snapshot.image as string;
    const references = [
      hex.slice(0, 4),
      hex.slice(0, 1),
      hex.slice(0, 12),
      hex,
      imageId,
      `sha256:${hex.slice(0, 6)}`,
      image,
      `docker.io/${image}`,
      `index.docker.io/${image}`,
      `localhost/${image}`,
      `127.0.0.1:5000/${image}`,
      `${image.split(":")[0]}:latest`,
    ];
    const before = await containersOf(principals[1]!);
    for (const reference of references) {
      const expected = absentText.replaceAll(ABSENT, reference);
      expect(await fails(bob, "runner_spawn", { image: reference }), `runner_spawn image ${reference}`).toBe(expected);
      expect(
        await fails(bob, "runner_attach", { runner: "bob-ws", image: reference }),
        `runner_attach image ${reference}`,
      ).toBe(expected);
    }
    // The snapshot argument: alice's id and name look like snapshots bob never had.
    for (const reference of [snapshot.snapshot_id as string, "with-key"]) {
      const missing = await fails(bob, "runner_spawn", { snapshot: "no-such-snapshot" });
      expect(await fails(bob, "runner_spawn", { snapshot: reference })).toBe(
        missing.replaceAll("no-such-snapshot", reference),
      );
      expect(await fails(bob, "snapshot_remove", { snapshot: reference })).toBe(
        (await fails(bob, "snapshot_remove", { snapshot: "no-such-snapshot" })).replaceAll(
          "no-such-snapshot",
          reference,
        ),
      );
    }
    // A registry the operator did not list is refused by name, before anything is pulled (nothing depends on existence).
    expect((await fails(bob, "runner_spawn", { image: "127.0.0.1:1/devhatchery-test/x:1" })).split("\n")[0]).toBe(
      'Error POLICY_DENIED: image "127.0.0.1:1/devhatchery-test/x:1" names registry "127.0.0.1:1", which this server does not take images from (images.registries: "docker.io"); ' +
        'use an image from one of those, or ask the operator to add "127.0.0.1:1" to images.registries (DEVHATCHERY_IMAGE_REGISTRIES).',
    );
    expect(await ok(bob, "snapshot_list")).toEqual({ snapshots: [] });
    // Nothing was created for bob, not even a failed spawn.
    expect(await containersOf(principals[1]!)).toBe(before);
    expect((await ok(bob, "runner_list")).runners).toEqual([]);
  });

  it("still lets alice run her own snapshot, by snapshot and by image name", async () => {
    for (const args of [
      { snapshot: "with-key" },
      { image: snapshot.image },
      { image: `docker.io/${snapshot.image as string}` },
    ]) {
      const runner = await ok(alice, "runner_spawn", { ...args, storage: "tmpfs" });
      expect(runner).toMatchObject({ status: "ready", image: snapshot.image });
      expect(await sh(alice, runner.runner_id as string, "cat /root/.ssh/id_ed25519")).toBe(SECRET);
      // Created from the image id the checks saw, not from a name that could be re-tagged in between.
      expect((await docker.getContainer(`devhatchery-${runner.runner_id as string}`).inspect()).Config.Image).toBe(
        imageId,
      );
      await ok(alice, "runner_remove", { runner: runner.runner_id });
    }
    // Even her own snapshot is not reachable by id: ids are off unless the operator allows them.
    expect((await fails(alice, "runner_spawn", { image: imageId })).split("\n")[0]).toMatch(
      /^Error IMAGE_NOT_FOUND: Image "sha256:[0-9a-f]{64}" not found/,
    );
  });
});
