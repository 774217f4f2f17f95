import { describe, expect, it } from "vitest";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import { agentExitDescription, runnerInfoFromContainer } from "./runner-info.js";

const BASE: RunnerContainer = {
  containerId: "c",
  runnerId: "r-0123456789ab",
  principal: "alice",
  image: "img",
  state: "running",
  createdAt: "2026-01-01T00:00:00.000Z",
  address: "10.0.0.2",
  token: "t",
  exitCode: undefined,
  binds: [],
  alias: "a",
  workspaceKey: "w",
  storage: { kind: "volume", volume: "devhatchery-ws-x" },
  limits: { cpus: 1, memoryMb: 512, pids: 100 },
  networkEnabled: false,
  hardened: true,
  oomKilled: false,
  startedAt: undefined,
  finishedAt: undefined,
};

describe("runnerInfoFromContainer", () => {
  it("shows a running runner as ready with its workspace, limits and profile", () => {
    expect(runnerInfoFromContainer(BASE, undefined, "2026-01-02T00:00:00.000Z")).toEqual({
      runnerId: "r-0123456789ab",
      image: "img",
      status: "ready",
      createdAt: "2026-01-01T00:00:00.000Z",
      alias: "a",
      workspaceKey: "w",
      storage: "volume",
      volume: "devhatchery-ws-x",
      lastActivityAt: "2026-01-02T00:00:00.000Z",
      limits: { cpus: 1, memoryMb: 512, pids: 100 },
      network: false,
      profile: "hardened",
      error: undefined,
      exitCode: undefined,
      pooled: false,
    });
  });

  it("says how the agent of a stopped runner ended, unless it stopped cleanly", () => {
    expect(runnerInfoFromContainer({ ...BASE, state: "exited", exitCode: 137 }, undefined, undefined)).toMatchObject({
      status: "stopped",
      exitCode: 137,
      error: "the agent exited (exit code 137)",
    });
    expect(
      runnerInfoFromContainer({ ...BASE, state: "exited", exitCode: 137, oomKilled: true }, undefined, undefined).error,
    ).toBe("the agent exited (exit code 137, OOM-killed)");
    expect(runnerInfoFromContainer({ ...BASE, state: "exited", exitCode: 0 }, undefined, undefined)).toMatchObject({
      status: "stopped",
      exitCode: 0,
      error: undefined,
    });
  });

  it("lets a spawn record in flight override the container's state", () => {
    const spawn = {
      runnerId: BASE.runnerId,
      principal: "alice",
      image: "img",
      workspaceKey: "w",
      alias: "a",
      status: "starting" as const,
      error: undefined,
      createdAt: BASE.createdAt,
      expiresAt: BASE.createdAt,
    };
    expect(runnerInfoFromContainer(BASE, spawn, undefined).status).toBe("starting");
  });
});

describe("agentExitDescription", () => {
  it("names an unknown exit code as such", () => {
    expect(agentExitDescription({ exitCode: undefined, oomKilled: false })).toBe(
      "the agent exited (exit code unknown)",
    );
  });
});
