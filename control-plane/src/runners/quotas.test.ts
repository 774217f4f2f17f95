import { describe, expect, it } from "vitest";
import { checkRunnerQuotas, checkSnapshotQuota, effectiveQuotas, quotaReport, quotaUsage } from "./quotas.js";

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

  it("reports each quota with its usage", () => {
    const quotas = effectiveQuotas({ runningRunners: 3, snapshots: 5 }, undefined);
    expect(quotaReport(quotas, { runningRunners: 1, cpus: 2, memoryMb: 512, snapshots: 4 })).toEqual([
      { quota: "running_runners", used: 1, limit: 3, source: "server" },
      { quota: "snapshots", used: 4, limit: 5, source: "server" },
    ]);
  });
});
