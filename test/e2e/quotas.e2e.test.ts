import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import {
  fails,
  ok,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

/** Quotas per principal through real tools: counted from the engine, refused with the numbers, freed by stop and pause. */
describe("quotas: running runners, their cpus and memory, snapshots", () => {
  const { principals, network, env } = testIdentities("quotas", ["alice", "bob"]);
  let plane: RunnersControlPlane;
  let alice: Client;
  let bob: Client;
  const snapshots: string[] = [];
  const small = { cpus: 0.5, memory_mb: 256 };

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, {
      ...env,
      DEVHATCHERY_QUOTA_RUNNING_RUNNERS: "2",
      DEVHATCHERY_QUOTA_CPUS: "1",
      DEVHATCHERY_QUOTA_MEMORY_MB: "1024",
      DEVHATCHERY_QUOTA_SNAPSHOTS: "1",
    });
    [alice, bob] = plane.clients as [Client, Client];
  });
  afterAll(async () => {
    await plane?.close();
    for (const image of snapshots)
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
  });

  const quotas = async (client: Client) =>
    Object.fromEntries(
      ((await ok(client, "system_status")).quotas as Array<{ quota: string; used: number; limit: number }>).map(
        (quota) => [quota.quota, `${quota.used}/${quota.limit}`],
      ),
    );

  it("refuses past each quota with the quota, the usage and the fix, and counts stop and pause as they free", async () => {
    await ok(alice, "runner_spawn", { alias: "a", ...small });
    await ok(alice, "runner_spawn", { alias: "b", ...small });
    expect(await quotas(alice)).toEqual({
      running_runners: "2/2",
      cpus: "1/1",
      memory_mb: "512/1024",
      snapshots: "0/1",
    });
    expect(await fails(alice, "runner_spawn", { alias: "c", ...small })).toMatch(
      /^Error QUOTA_EXCEEDED: Quota running_runners exceeded: this server's quota is 2, you use 2 runners, and this would add 1\. Stop, pause or remove runners/,
    );
    // Another principal has quotas of its own.
    await ok(bob, "runner_spawn", { alias: "bobs", ...small });

    // A paused runner still holds memory and counts as a runner, but uses no CPU.
    await ok(alice, "runner_pause", { runner: "b" });
    expect(await quotas(alice)).toMatchObject({ running_runners: "2/2", cpus: "0.5/1", memory_mb: "512/1024" });
    await ok(alice, "runner_stop", { runner: "a" });
    await ok(alice, "runner_spawn", { alias: "c", cpus: 0.75, memory_mb: 256 });
    // Thawing b would add its cpus back: 0.75 (c) + 0.5 (b) is past 1.
    expect(await fails(alice, "runner_resume", { runner: "b" })).toMatch(
      /^Error QUOTA_EXCEEDED: Quota cpus exceeded: this server's quota is 1, you use 0\.75 cpus, and this would add 0\.5\./,
    );
    expect(await fails(alice, "runner_attach", { runner: "a" })).toMatch(
      /^Error QUOTA_EXCEEDED: Quota running_runners/,
    );
    await ok(alice, "runner_stop", { runner: "c" });
    expect((await ok(alice, "runner_resume", { runner: "b" })).status).toBe("ready");
    expect(await quotas(alice)).toMatchObject({ running_runners: "1/2", cpus: "0.5/1", memory_mb: "256/1024" });

    const snapshot = await ok(alice, "snapshot_create", { runner: "b", name: "one" });
    snapshots.push(snapshot.image as string);
    expect(await fails(alice, "snapshot_create", { runner: "c", name: "two" })).toMatch(
      /^Error QUOTA_EXCEEDED: Quota snapshots exceeded: this server's quota is 1, you use 1 snapshots, and this would add 1\. Remove snapshots you no longer need/,
    );
  });
});
