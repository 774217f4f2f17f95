import { describe, expect, it } from "vitest";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import { runnerUnavailable } from "./runner-unavailable.js";

const STOPPED: RunnerContainer = {
  containerId: "c",
  runnerId: "r-0123456789ab",
  principal: "alice",
  image: "img",
  state: "exited",
  createdAt: "2026-01-01T00:00:00.000Z",
  address: undefined,
  token: undefined,
  exitCode: 137,
  binds: [],
  alias: "tight",
  workspaceKey: undefined,
  storage: { kind: "tmpfs", sizeMb: 160 },
  limits: { cpus: 1, memoryMb: 256, pids: 100 },
  networkEnabled: true,
  hardened: false,
  oomKilled: true,
  startedAt: undefined,
  finishedAt: "2026-01-01T01:00:00.000Z",
};

describe("runnerUnavailable", () => {
  it("tells the truth about /work: a tmpfs is gone with the stop, a workspace volume is kept (and says nothing more)", () => {
    expect(runnerUnavailable("tight", { kind: "container", container: STOPPED }).message).toBe(
      'Runner "tight" is stopped (the agent exited (exit code 137, OOM-killed)), not running; start it again with runner_attach (runner: "tight"). ' +
        "Its /work was a tmpfs: what it held is gone, and it starts again with an empty /work.",
    );
    const onVolume = {
      ...STOPPED,
      storage: { kind: "volume" as const, volume: "devhatchery-ws-x" },
      workspaceKey: "w",
    };
    expect(runnerUnavailable("tight", { kind: "container", container: onVolume }).message).toBe(
      'Runner "tight" is stopped (the agent exited (exit code 137, OOM-killed)), not running; start it again with runner_attach (runner: "tight").',
    );
  });
});
