import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestSnapshots } from "../../test/docker-cleanup.js";
import { createRuntimeFixture, type RuntimeFixture } from "../../test/runtime-fixture.js";
import { snapshotBytes } from "./quota-usage.js";
import { effectiveQuotas } from "./quotas.js";
import { WorkspaceDisk } from "./workspace-disk.js";

describe("measured disk quotas on the real engine", () => {
  let fixture: RuntimeFixture;
  let runnerId: string;

  beforeAll(async () => {
    fixture = await createRuntimeFixture("disk");
    const volume = await fixture.runtime.workspaces.ensure(fixture.principal, "disk", new Date().toISOString());
    runnerId = (await fixture.start({ storage: { kind: "volume", volume: volume.name }, workspaceKey: "disk" }))
      .runnerId;
  });
  afterAll(async () => {
    await fixture?.cleanup();
    if (fixture) await removeTestSnapshots([fixture.principal]);
  });

  const write = async (command: string): Promise<void> => {
    expect(await fixture.exec(runnerId, ["sh", "-c", command])).toEqual({ exitCode: 0, output: "" });
  };

  it("reuses a measurement for a while, forgets it on demand, and refuses only from a fresh one", async () => {
    let now = 1_000_000;
    const disk = new WorkspaceDisk(fixture.runtime, 30_000, () => now);
    const quotas = effectiveQuotas({ workspaceDiskMb: 2 }, undefined);
    const { principal } = fixture;
    expect(await disk.bytes(principal)).toBe(0);

    await write("head -c 3000000 /dev/urandom > /work/blob");
    // Within 30 s the last measurement stands: the spawn passes, which is the price of not walking every volume each time.
    expect(await disk.bytes(principal)).toBe(0);
    await expect(disk.check(principal, quotas)).resolves.toBeUndefined();
    now += 30_000;
    expect(await disk.bytes(principal)).toBe(3_000_000);
    await expect(disk.check(principal, quotas)).rejects.toThrow(
      /^Quota workspace_disk_mb exceeded: this server's quota is 2, your workspaces use 2\.9 MiB\./,
    );

    // The remembered 2.9 MiB would refuse; the refusal measures again and finds the space freed.
    await write("rm /work/blob");
    await expect(disk.check(principal, quotas)).resolves.toBeUndefined();
    expect(await disk.bytes(principal)).toBe(0);

    await write("head -c 3000000 /dev/urandom > /work/blob");
    disk.forget(principal);
    await expect(disk.check(principal, quotas)).rejects.toThrow(/your workspaces use 2\.9 MiB/);
    expect(await disk.bytes(`${principal}-nobody`)).toBe(0);
  });

  it("counts what a snapshot's commit added, not the image it shares", async () => {
    await write("head -c 1000000 /dev/urandom > /tmp/layer");
    const snapshot = await fixture.runtime.snapshots.commit(runnerId, {
      snapshotId: "s-0123456789ab",
      principal: fixture.principal,
      createdAt: new Date().toISOString(),
    });
    const added = await fixture.runtime.snapshots.addedBytes(snapshot.image);
    expect(added).toBeGreaterThanOrEqual(1_000_000);
    expect(added).toBeLessThan(1_100_000);
    expect(snapshot.sizeBytes - added).toBeGreaterThan(10_000_000);
    expect(await snapshotBytes(fixture.runtime, [snapshot, snapshot])).toBe(2 * added);
  });
});
