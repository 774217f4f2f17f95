import { describe, expect, it } from "vitest";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import type { SpawnRecord } from "../../store/state-store.js";
import { checkSpawnConflicts } from "./spawn-conflicts.js";
import { validateSpawnRequest, type SpawnPolicy } from "./spawn-request.js";
import type { SpawnRequest } from "../runner.js";

const POLICY: SpawnPolicy = {
  defaultImage: "img",
  limits: {
    defaults: { cpus: 1, memoryMb: 512, pids: 100 },
    max: { cpus: 2, memoryMb: 1024, pids: 200 },
    maxRunnersPerPrincipal: 3,
    tmpfsMb: 64,
  },
  profile: "default",
};

function container(runnerId: string, fields: Partial<RunnerContainer>): RunnerContainer {
  return {
    containerId: runnerId,
    runnerId,
    principal: "alice",
    image: "img",
    state: "running",
    createdAt: "2026-01-01T00:00:00.000Z",
    address: undefined,
    token: undefined,
    exitCode: undefined,
    binds: [],
    alias: undefined,
    workspaceKey: runnerId,
    storage: { kind: "volume", volume: "v" },
    limits: { cpus: 1, memoryMb: 512, pids: 100 },
    networkEnabled: true,
    hardened: false,
    oomKilled: false,
    startedAt: undefined,
    finishedAt: undefined,
    ...fields,
  };
}

function starting(runnerId: string, fields: Partial<SpawnRecord>): SpawnRecord {
  return {
    runnerId,
    principal: "alice",
    image: "img",
    workspaceKey: undefined,
    alias: undefined,
    status: "starting",
    error: undefined,
    createdAt: "",
    expiresAt: "",
    ...fields,
  };
}

function check(request: SpawnRequest, containers: RunnerContainer[], spawns: SpawnRecord[]): void {
  checkSpawnConflicts(validateSpawnRequest(request, POLICY), containers, spawns, {
    max: POLICY.limits.maxRunnersPerPrincipal,
    policy: undefined,
  });
}

describe("checkSpawnConflicts", () => {
  it("refuses a workspace that has a runner, naming it and runner_attach", () => {
    expect(() =>
      check({ workspaceKey: "proj" }, [container("r-000000000001", { workspaceKey: "proj", state: "exited" })], []),
    ).toThrow(
      'Workspace "proj" already has runner "r-000000000001" (stopped); use runner_attach with runner "proj" to work in it, or remove that runner with runner_remove first.',
    );
    expect(() => check({ workspaceKey: "proj" }, [], [starting("r-000000000002", { workspaceKey: "proj" })])).toThrow(
      'Workspace "proj" already has runner "r-000000000002" (starting)',
    );
    const created = container("r-000000000003", { workspaceKey: "proj", state: "running" });
    expect(() =>
      check({ workspaceKey: "proj" }, [created], [starting("r-000000000003", { workspaceKey: "proj" })]),
    ).toThrow('Workspace "proj" already has runner "r-000000000003" (starting)');
  });

  it("refuses an alias in use by a runner or a starting spawn", () => {
    expect(() => check({ alias: "web" }, [container("r-000000000001", { alias: "web" })], [])).toThrow(
      'Alias "web" is already used by runner "r-000000000001" (ready); choose another alias, or use runner_attach with runner "web".',
    );
    expect(() => check({ alias: "web" }, [], [starting("r-000000000002", { alias: "web" })])).toThrow(
      'Alias "web" is already used by runner "r-000000000002" (starting)',
    );
  });

  it("ignores failed spawns and counts containers and starting spawns once against the maximum", () => {
    const failed = starting("r-000000000009", { alias: "web", workspaceKey: "proj", status: "failed" });
    expect(() => check({ alias: "web", workspaceKey: "proj" }, [], [failed])).not.toThrow();
    const two = [container("r-000000000001", {}), container("r-000000000002", {})];
    expect(() => check({}, two, [starting("r-000000000001", {})])).not.toThrow();
    let error: unknown;
    try {
      check({}, two, [starting("r-000000000003", {})]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({
      code: "POLICY_DENIED",
      what: "max_runners_per_principal",
      limit: 3,
      message:
        "You already have 3 runners, this server's maximum of 3 per principal; remove runners you no longer need with runner_remove, then spawn again.",
    });
  });
});
