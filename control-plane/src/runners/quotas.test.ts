import { describe, expect, it } from "vitest";
import {
  checkDiskQuota,
  checkRunnerQuotas,
  checkSnapshotQuota,
  effectiveQuotas,
  MIB,
  mib,
  quotaReport,
  quotaUsage,
} from "./quotas.js";

const limits = (cpus: number, memoryMb: number) => ({ cpus, memoryMb, pids: 100 });
const policy = (quotas: Record<string, number>) => ({ name: "devs", denyAll: false, quotas });

describe("quotas", () => {
  it("takes the lower of the server's and the policy's quota, and says whose it is", () => {
    const quotas = effectiveQuotas(
      { runningRunners: 5, cpus: 4 },
      policy({ runningRunners: 2, cpus: 8, snapshots: 3 }),
    );
    expect(quotas).toEqual({
      limits: { runningRunners: 2, cpus: 4, snapshots: 3 },
      source: { runningRunners: "devs", cpus: "server", snapshots: "devs" },
    });
    expect(effectiveQuotas({}, undefined)).toEqual({ limits: {}, source: {} });
  });

  it("counts running, paused and starting runners; paused ones hold memory but no cpu; stopped ones nothing", () => {
    expect(
      quotaUsage([
        { runnerId: "r-1", state: "running", limits: limits(1, 512) },
        { runnerId: "r-2", state: "paused", limits: limits(2, 1024) },
        { runnerId: "r-3", state: "starting", limits: limits(0.5, 256) },
        { runnerId: "r-4", state: "exited", limits: limits(4, 4096) },
      ]),
    ).toEqual({ runningRunners: 3, cpus: 1.5, memoryMb: 1792 });
  });

  it("refuses what goes past a quota, naming it, the usage, what would be added and the fix", () => {
    const quotas = effectiveQuotas({ runningRunners: 3, memoryMb: 2048 }, policy({ cpus: 2 }));
    const usage = { runningRunners: 2, cpus: 1.5, memoryMb: 1024 };
    expect(() => checkRunnerQuotas(quotas, usage, { runners: 1, cpus: 0.5, memoryMb: 1024 })).not.toThrow();
    expect(() => checkRunnerQuotas(quotas, usage, { runners: 1, cpus: 1, memoryMb: 256 })).toThrow(
      `Quota cpus exceeded: policy "devs"'s quota is 2, you use 1.5 cpus, and this would add 1. Stop, pause or remove runners you no longer need (runner_list, runner_stop, runner_pause, runner_remove), then try again.`,
    );
    expect(() => checkRunnerQuotas(quotas, usage, { runners: 1, cpus: 0.5, memoryMb: 1025 })).toThrow(
      /^Quota memory_mb exceeded: this server's quota is 2048, you use 1024 MiB, and this would add 1025 MiB\./,
    );
    expect(() =>
      checkRunnerQuotas(quotas, { ...usage, runningRunners: 3 }, { runners: 0, cpus: 0.5, memoryMb: 0 }),
    ).not.toThrow();
    expect(() => checkSnapshotQuota(effectiveQuotas({ snapshots: 2 }, undefined), 2)).toThrow(
      expect.objectContaining({ code: "QUOTA_EXCEEDED" }),
    );
  });

  it("reports each quota with its usage, disk quotas in MiB with one decimal", () => {
    const quotas = effectiveQuotas({ runningRunners: 3, snapshots: 5, workspaceDiskMb: 10 }, policy({ exportMb: 4 }));
    const disk = { workspaceBytes: 2_990_000, snapshotBytes: 7 * MIB, exportBytes: 4 * MIB };
    expect(quotaReport(quotas, { runningRunners: 1, cpus: 2, memoryMb: 512, snapshots: 4, ...disk })).toEqual([
      { quota: "running_runners", used: 1, limit: 3, source: "server" },
      { quota: "snapshots", used: 4, limit: 5, source: "server" },
      { quota: "workspace_disk_mb", used: 2.9, limit: 10, source: "server" },
      { quota: "export_mb", used: 4, limit: 4, source: "devs" },
    ]);
  });

  it("shows bytes in MiB as an integer or with one decimal", () => {
    expect([mib(0), mib(3_000_000), mib(2 * MIB), mib(2 * MIB - 1), mib(1536 * 1024)]).toEqual([0, 2.9, 2, 2, 1.5]);
  });

  it("refuses at or over a disk quota, since writes cannot be refused, naming the usage, the limit and the fix", () => {
    const quotas = effectiveQuotas({ workspaceDiskMb: 2 }, policy({ exportMb: 3 }));
    expect(() => checkDiskQuota(quotas, "workspaceDiskMb", 2 * MIB - 1)).not.toThrow();
    expect(() => checkDiskQuota(quotas, "workspaceDiskMb", 3_000_000)).toThrow(
      "Quota workspace_disk_mb exceeded: this server's quota is 2, your workspaces use 2.9 MiB. Remove workspaces you no longer need (volume_list, volume_remove), or delete files in /work (exec; starting a stopped runner is allowed for that), then try again.",
    );
    expect(() => checkDiskQuota(quotas, "workspaceDiskMb", 2 * MIB)).toThrow(
      expect.objectContaining({ code: "QUOTA_EXCEEDED" }),
    );
    expect(() => checkDiskQuota(quotas, "exportMb", 3 * MIB)).toThrow(
      /^Quota export_mb exceeded: policy "devs"'s quota is 3, your exports in the export root use 3 MiB\. Export into a read-write mount/,
    );
    // Quotas not set are not checked, whatever the usage.
    expect(() => checkDiskQuota(quotas, "snapshotMb", 100 * MIB)).not.toThrow();
    expect(() => checkDiskQuota(effectiveQuotas({ snapshotMb: 0 }, undefined), "snapshotMb", 0)).toThrow(
      /^Quota snapshot_mb exceeded: this server's quota is 0, your snapshots use 0 MiB\./,
    );
  });

  it("refuses bytes just made only when they take the principal past a disk quota, saying what became of them", () => {
    const quotas = effectiveQuotas({ snapshotMb: 5 }, undefined);
    const outcome = (size: string) => `this snapshot added ${size}, so it was removed again`;
    expect(() => checkDiskQuota(quotas, "snapshotMb", 2 * MIB, { bytes: 3 * MIB, outcome })).not.toThrow();
    expect(() => checkDiskQuota(quotas, "snapshotMb", 2 * MIB, { bytes: 3 * MIB + 1, outcome })).toThrow(
      "Quota snapshot_mb exceeded: this server's quota is 5, your snapshots use 2 MiB, and this snapshot added 3 MiB, so it was removed again. Remove snapshots you no longer need (snapshot_list, snapshot_remove), then try again.",
    );
  });
});
