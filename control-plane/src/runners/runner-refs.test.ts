import { describe, expect, it } from "vitest";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import type { SpawnRecord } from "../store/state-store.js";
import { findRunnerByName, refKind } from "./runner-refs.js";

function container(runnerId: string, fields: Partial<RunnerContainer> = {}): RunnerContainer {
  return {
    containerId: `c-${runnerId}`,
    runnerId,
    principal: "alice",
    image: "img",
    state: "running",
    createdAt: "2026-01-01T00:00:00.000Z",
    address: "10.0.0.2",
    token: "t",
    exitCode: undefined,
    binds: [],
    alias: undefined,
    workspaceKey: runnerId,
    storage: { kind: "volume", volume: `v-${runnerId}` },
    limits: { cpus: 1, memoryMb: 512, pids: 100 },
    networkEnabled: true,
    hardened: false,
    oomKilled: false,
    startedAt: undefined,
    finishedAt: undefined,
    ...fields,
  };
}

function spawn(runnerId: string, fields: Partial<SpawnRecord>): SpawnRecord {
  return {
    runnerId,
    principal: "alice",
    image: "img",
    workspaceKey: undefined,
    alias: undefined,
    status: "starting",
    error: undefined,
    createdAt: "2026-01-01T00:00:00.000Z",
    expiresAt: "2026-01-02T00:00:00.000Z",
    ...fields,
  };
}

describe("refKind", () => {
  it("tells runner ids from names and refuses anything else with the rules", () => {
    expect(refKind("r-0123456789ab")).toBe("id");
    expect(refKind("my-project")).toBe("name");
    expect(() => refKind("no/slashes")).toThrow(
      '"no/slashes" is not a runner id, alias or workspace key (a runner id is "r-" and 12 hex digits; aliases and keys are letters, digits, ".", "_" and "-"); list your runners with runner_list.',
    );
  });
});

describe("findRunnerByName", () => {
  it("prefers an alias over another runner's workspace key", () => {
    const byKey = container("r-000000000001", { workspaceKey: "shared" });
    const byAlias = container("r-000000000002", { alias: "shared" });
    expect(findRunnerByName("shared", [byKey, byAlias], [])).toEqual({ kind: "container", container: byAlias });
  });

  it("finds a runner by its workspace key", () => {
    const runner = container("r-000000000001", { workspaceKey: "proj" });
    expect(findRunnerByName("proj", [runner], [])).toEqual({ kind: "container", container: runner });
  });

  it("falls back to spawns without a container, starting before failed, newest first", () => {
    const failedNew = spawn("r-000000000003", {
      alias: "x",
      status: "failed",
      error: "boom",
      createdAt: "2026-01-03T00:00:00.000Z",
    });
    const starting = spawn("r-000000000002", { alias: "x", createdAt: "2026-01-01T00:00:00.000Z" });
    expect(findRunnerByName("x", [], [failedNew, starting])).toEqual({ kind: "spawn", spawn: starting });
    expect(findRunnerByName("x", [], [failedNew])).toEqual({ kind: "spawn", spawn: failedNew });
  });

  it("ignores spawn records of runners that have a container and returns nothing for unknown names", () => {
    const runner = container("r-000000000001");
    expect(findRunnerByName("nope", [runner], [spawn("r-000000000001", { alias: "nope" })])).toBeUndefined();
  });
});
