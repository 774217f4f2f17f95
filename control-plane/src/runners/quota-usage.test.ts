import { describe, expect, it } from "vitest";
import type { QuotaName } from "../config.js";
import { NO_METER } from "../meter.js";
import { recordQuotaUsage, totalQuotaUsage, type QuotaUsageByName } from "./quota-usage.js";

const usage = (values: Partial<QuotaUsageByName>): QuotaUsageByName => ({
  running_runners: 0,
  cpus: 0,
  memory_mb: 0,
  snapshots: 0,
  workspace_disk_mb: 0,
  snapshot_mb: 0,
  export_mb: 0,
  ...values,
});

describe("quota usage of all principals", () => {
  it("adds every principal's usage up per quota, and sets one gauge per quota given", () => {
    const total = totalQuotaUsage(
      new Map([
        ["alice", usage({ running_runners: 2, cpus: 1.5, workspace_disk_mb: 2.5 })],
        ["bob", usage({ running_runners: 1, cpus: 0.5, export_mb: 4 })],
      ]),
    );
    expect(total).toEqual(usage({ running_runners: 3, cpus: 2, workspace_disk_mb: 2.5, export_mb: 4 }));
    expect(totalQuotaUsage(new Map())).toEqual(usage({}));

    const set: Array<[QuotaName, number]> = [];
    recordQuotaUsage(
      { ...NO_METER, quotaUsage: (quota, used) => set.push([quota, used]) },
      {
        workspace_disk_mb: total.workspace_disk_mb,
        export_mb: total.export_mb,
      },
    );
    expect(set).toEqual([
      ["workspace_disk_mb", 2.5],
      ["export_mb", 4],
    ]);
  });
});
