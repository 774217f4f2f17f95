import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import {
  eventually,
  fails,
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";
import { collectLogMessages } from "../support/mcp-client.js";

/** Each quota as system_status shows it: "used/limit". */
const quotas = async (client: Client) =>
  Object.fromEntries(
    ((await ok(client, "system_status")).quotas as Array<{ quota: string; used: number; limit: number }>).map(
      (quota) => [quota.quota, `${quota.used}/${quota.limit}`],
    ),
  );

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

/** Disk quotas through real tools: measured from the engine and the export root, refused with the numbers and the fix. */
describe("quotas: workspace disk, snapshot and export bytes", () => {
  const { principals, network, env } = testIdentities("diskquotas", ["carol"]);
  let plane: RunnersControlPlane;
  let carol: Client;
  let base: string;
  const snapshots: string[] = [];
  const small = { cpus: 0.5, memory_mb: 256 };
  const notices: string[] = [];

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-diskquotas-"));
    for (const folder of ["out", "exports"]) await mkdir(join(base, folder));
    plane = await startRunnersControlPlane(principals, network, {
      ...env,
      DEVHATCHERY_QUOTA_WORKSPACE_DISK_MB: "2",
      DEVHATCHERY_QUOTA_SNAPSHOT_MB: "2",
      DEVHATCHERY_QUOTA_EXPORT_MB: "3",
      // Usage is measured (gauges, warnings) every second.
      DEVHATCHERY_GC_INTERVAL_S: "1",
      DEVHATCHERY_EXPORT_ROOT: join(base, "exports"),
      DEVHATCHERY_ALLOWED_ROOTS: `out=${join(base, "out")}:rw`,
    });
    [carol] = plane.clients as [Client];
    collectLogMessages(carol, notices);
  });
  afterAll(async () => {
    await plane?.close();
    for (const image of snapshots)
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("refuses spawns while the workspaces use workspace_disk_mb or more, measured as the engine sees it; starts stay allowed", async () => {
    await ok(carol, "runner_spawn", { alias: "w", ...small });
    await ok(carol, "runner_spawn", { alias: "x", ...small });
    await ok(carol, "runner_stop", { runner: "x" });
    // A call reached the runner, so the next spawn measures again: no waiting for the last measurement to age.
    await sh(carol, "w", "head -c 3000000 /dev/urandom > /work/blob");
    const refusal =
      /^Error QUOTA_EXCEEDED: Quota workspace_disk_mb exceeded: this server's quota is 2, your workspaces use 2\.9 MiB\. Remove workspaces you no longer need \(volume_list, volume_remove\), or delete files in \/work \(exec; starting a stopped runner is allowed for that\), then try again\./;
    expect(await fails(carol, "runner_spawn", { alias: "y", ...small })).toMatch(refusal);
    expect(await quotas(carol)).toMatchObject({ workspace_disk_mb: "2.9/2" });
    // The periodic pass warns the owner's sessions once, and the gauge adds up every principal's usage.
    await eventually("the disk quota warning", async () =>
      notices.find((text) =>
        text.startsWith("Your usage of quota workspace_disk_mb is 2.9 MiB of 2: new runners are refused"),
      ),
    );
    const metrics = await (await fetch(new URL("/metrics", plane.server.url))).text();
    expect(
      Number(/^devhatchery_quota_usage\{quota="workspace_disk_mb"\} (\S+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(2.8);
    // Starting a stopped runner adds no disk, and is how an owner gets in to free space.
    expect((await ok(carol, "runner_attach", { runner: "x" })).action).toBe("started");
    // Writes cannot be refused on a local volume: the runner that holds the space keeps working, and frees it.
    await sh(carol, "w", "rm /work/blob");
    expect(await quotas(carol)).toMatchObject({ workspace_disk_mb: "0/2" });
    await ok(carol, "runner_spawn", { alias: "y", ...small });
    await ok(carol, "runner_remove", { runner: "y" });
  });

  it("counts what each snapshot adds over its image, and removes one that takes the principal past snapshot_mb", async () => {
    await sh(carol, "w", "head -c 1000000 /dev/urandom > /tmp/one");
    const first = await ok(carol, "snapshot_create", { runner: "w", name: "one" });
    snapshots.push(first.image as string);
    const [used, limit] = ((await quotas(carol)).snapshot_mb ?? "").split("/");
    // The runner's own layer: the 1 MB file and the little the agent wrote; the image's layers are not counted.
    expect(limit).toBe("2");
    expect(Number(used)).toBeGreaterThanOrEqual(0.9);
    expect(Number(used)).toBeLessThan(1.2);

    await sh(carol, "w", "head -c 1000000 /dev/urandom > /tmp/two");
    const refused = await fails(carol, "snapshot_create", { runner: "w", name: "two" });
    const [, usedBefore, added] =
      /^Error QUOTA_EXCEEDED: Quota snapshot_mb exceeded: this server's quota is 2, your snapshots use (\d+(?:\.\d)?) MiB, and this snapshot of runner "r-[0-9a-f]+" added (\d+(?:\.\d)?) MiB, so it was removed again\. Remove snapshots you no longer need \(snapshot_list, snapshot_remove\), then try again\./.exec(
        refused,
      ) ?? [];
    expect(refused).toMatch(/^Error QUOTA_EXCEEDED: Quota snapshot_mb exceeded/);
    expect(usedBefore).toBe(used);
    // Both files are in the runner's layer now.
    expect(Number(added)).toBeGreaterThanOrEqual(1.9);
    expect(((await ok(carol, "snapshot_list")).snapshots as Array<{ name: string }>).map((s) => s.name)).toEqual([
      "one",
    ]);
  });

  it("stops an export to the export root that would pass export_mb, with nothing written; exports into a mount do not count", async () => {
    await ok(carol, "runner_spawn", { alias: "m", ...small, mounts: [{ alias: "out", mode: "rw" }] });
    await sh(carol, "m", "mkdir -p /work/data && head -c 2000000 /dev/urandom > /work/data/blob");
    const first = await ok(carol, "export_create", { runner: "m", path: "/work/data", format: "tar", name: "first" });
    expect(first.bytes_written).toBeGreaterThan(2_000_000);
    expect(await quotas(carol)).toMatchObject({ export_mb: "1.9/3" });

    const stopped = await fails(carol, "export_create", {
      runner: "m",
      path: "/work/data",
      format: "tar",
      name: "again",
    });
    expect(stopped).toMatch(
      /^Error QUOTA_EXCEEDED: Quota export_mb exceeded: this server's quota is 3, your exports in the export root use 1\.9 MiB, and this export was stopped after 1\.\d MiB; nothing was written\. Export into a read-write mount of the runner instead \(destination\)/,
    );
    const folder = join(base, "exports", principals[0]!.id);
    expect((await readdir(folder)).sort()).toEqual(["first.tar", "first.tar.manifest.json"]);

    // The same export into the runner's own mount is not counted (it would have been stopped if it were).
    await ok(carol, "export_create", {
      runner: "m",
      path: "/work/data",
      format: "tar",
      name: "to-mount",
      destination: "/export/out",
    });
    expect(await readdir(join(base, "out"))).toContain("to-mount.tar");
    expect(await quotas(carol)).toMatchObject({ export_mb: "1.9/3" });
  });
});
