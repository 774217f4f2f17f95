import { describe, expect, it } from "vitest";
import type { PoolConfig } from "../../config.js";
import type { ValidSpawn } from "../spawn/spawn-request.js";
import { matchPool } from "./pool-match.js";

const POOL: PoolConfig = {
  name: "warm",
  image: "img:1",
  profile: "default",
  storage: "tmpfs",
  network: true,
  cpus: 2,
  memoryMb: 2048,
  min: 1,
  max: 2,
  idleShrinkAfterS: 600,
};

const SPAWN: ValidSpawn = {
  image: "img:1",
  mounts: [],
  workspaceKey: undefined,
  storage: "tmpfs",
  alias: undefined,
  limits: { cpus: 2, memoryMb: 2048, pids: 4096 },
  network: true,
  env: {},
  profile: "default",
  idempotencyKey: undefined,
};

describe("matchPool", () => {
  it("matches a tmpfs spawn of the pool's image, profile and network within its limits", () => {
    expect(matchPool([POOL], SPAWN, [])).toBe(POOL);
    expect(matchPool([POOL], { ...SPAWN, limits: { cpus: 0.5, memoryMb: 256, pids: 4096 }, alias: "a" }, [])).toBe(
      POOL,
    );
    const hardened = { ...POOL, name: "hard", profile: "hardened" as const };
    expect(matchPool([POOL, hardened], { ...SPAWN, profile: "hardened" }, [])).toBe(hardened);
  });

  it("starts cold whatever a pooled runner could not have: a volume, mounts, more than the pool's limits, another image", () => {
    const cold: Array<Partial<ValidSpawn>> = [
      { storage: "volume" },
      { workspaceKey: "mine" },
      { mounts: [{ alias: "data" }] },
      { image: "img:2" },
      { profile: "hardened" },
      { network: false },
      { limits: { cpus: 3, memoryMb: 2048, pids: 4096 } },
      { limits: { cpus: 2, memoryMb: 4096, pids: 4096 } },
      // The image check still has work to do before the container exists.
      { imagePinned: true },
      { ownSnapshot: true },
      { imagePull: "always" },
    ];
    for (const change of cold)
      expect(matchPool([POOL], { ...SPAWN, ...change }, []), JSON.stringify(change)).toBeUndefined();
    expect(
      matchPool([POOL], SPAWN, [{ alias: "data", source: "/srv", target: "/export/data", readOnly: true } as never]),
    ).toBeUndefined();
    expect(matchPool([], SPAWN, [])).toBeUndefined();
  });
});
