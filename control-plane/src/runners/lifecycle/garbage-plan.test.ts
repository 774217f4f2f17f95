import { describe, expect, it } from "vitest";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import { LEFTOVER_GRACE_MS, planGarbage, type GarbageInputs, type RetentionSettings } from "./garbage-plan.js";

const NOW = Date.parse("2026-12-07T12:00:00Z");
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();
const SETTINGS: RetentionSettings = {
  runnerMaxLifetimeS: 3600,
  workspaceRetentionS: 600,
  snapshotRetentionS: 600,
  exportRetentionS: 600,
  retentionWarningS: 60,
};

function runner(runnerId: string, createdAgoS: number, image = "debian"): RunnerContainer {
  return { runnerId, principal: "alice", createdAt: ago(createdAgoS), image } as RunnerContainer;
}

function inputs(overrides: Partial<GarbageInputs>): GarbageInputs {
  return {
    now: NOW,
    runners: [],
    workspaces: [],
    workspaceUse: new Map(),
    snapshots: [],
    exports: [],
    agentVolumes: [],
    currentAgent: { version: "1.0.0", digest: "aaa" },
    helpers: [],
    pulledImages: [],
    keepImages: [],
    imagesInUse: new Set(),
    ...overrides,
  };
}

const ids = (items: Array<{ kind: string; id: string }>): string[] => items.map((item) => `${item.kind}:${item.id}`);

describe("planGarbage", () => {
  it("removes runners past their lifetime and warns about those within the warning time", () => {
    const plan = planGarbage(
      inputs({ runners: [runner("r-old", 3601), runner("r-soon", 3570), runner("r-young", 100)] }),
      SETTINGS,
    );
    expect(ids(plan.due)).toEqual(["runner:r-old"]);
    expect(ids(plan.soon)).toEqual(["runner:r-soon"]);
    expect(plan.due[0]).toMatchObject({ principal: "alice", reason: "max_lifetime", dueAt: ago(1) });
  });

  it("never deletes a workspace a runner mounts, and counts retention from the last use", () => {
    const volume = (workspaceKey: string, createdAgoS: number, usedBy: string[] = []) => ({
      name: `v-${workspaceKey}`,
      principal: "alice",
      workspaceKey,
      createdAt: ago(createdAgoS),
      sizeBytes: 10,
      usedBy,
    });
    const plan = planGarbage(
      inputs({
        workspaces: [
          volume("mounted", 10_000, ["r-stopped"]),
          volume("unused", 10_000),
          volume("used-lately", 10_000),
          volume("new", 5),
        ],
        workspaceUse: new Map([["alice", new Map([["used-lately", ago(100)]])]]),
      }),
      SETTINGS,
    );
    expect(ids(plan.due)).toEqual(["workspace:unused"]);
    expect(plan.due[0]).toMatchObject({ ref: "v-unused", bytes: 10 });
    expect(ids(plan.soon)).toEqual([]);
  });

  it("keeps snapshots a runner was spawned from, and deletes old exports", () => {
    const snapshot = (snapshotId: string, createdAgoS: number) => ({
      snapshotId,
      principal: "alice",
      name: undefined,
      image: `devhatchery-snapshot/x:${snapshotId}`,
      sourceRunner: "r-1",
      sourceImage: "debian",
      createdAt: ago(createdAgoS),
      sizeBytes: 5,
    });
    const plan = planGarbage(
      inputs({
        runners: [runner("r-1", 10, "devhatchery-snapshot/x:s-used")],
        snapshots: [snapshot("s-used", 10_000), snapshot("s-old", 10_000), snapshot("s-new", 10)],
        exports: [
          { principal: "alice", name: "old.tar", createdAt: ago(601), bytes: 3 },
          { principal: "alice", name: "new.tar", createdAt: ago(30), bytes: 3 },
        ],
      }),
      SETTINGS,
    );
    expect(ids(plan.due)).toEqual(["snapshot:s-old", "export:old.tar"]);
  });

  it("deletes nothing for age when retention is 0", () => {
    const plan = planGarbage(
      inputs({
        runners: [runner("r-old", 10_000_000)],
        exports: [{ principal: "alice", name: "old.tar", createdAt: ago(10_000_000), bytes: 3 }],
      }),
      { ...SETTINGS, runnerMaxLifetimeS: 0, exportRetentionS: 0 },
    );
    expect(plan).toEqual({ due: [], soon: [] });
  });

  it("removes leftovers only when unused, not current and older than the grace time", () => {
    const old = new Date(NOW - LEFTOVER_GRACE_MS - 1000).toISOString();
    const fresh = new Date(NOW - 1000).toISOString();
    const agentVolume = (name: string, digest: string, createdAt: string, usedBy: string[] = []) => ({
      name,
      version: "1.0.0",
      digest,
      arch: "x64",
      createdAt,
      usedBy,
    });
    const plan = planGarbage(
      inputs({
        agentVolumes: [
          agentVolume("current", "aaa", old),
          agentVolume("old-unused", "bbb", old),
          agentVolume("old-mounted", "ccc", old, ["r-1"]),
          agentVolume("fresh", "ddd", fresh),
        ],
        helpers: [
          { id: "c1", name: "lock-old", kind: "agent-helper", createdAt: old },
          { id: "c2", name: "lock-new", kind: "agent-helper", createdAt: fresh },
        ],
        pulledImages: ["node:24", "debian:bookworm", "alpine:3"],
        keepImages: ["debian:bookworm"],
        imagesInUse: new Set(["alpine:3"]),
      }),
      SETTINGS,
    );
    expect(ids(plan.due)).toEqual(["agent_volume:old-unused", "helper_container:lock-old", "image:node:24"]);
    expect(plan.due[1]).toMatchObject({ ref: "c1", reason: "dangling" });
  });
});
