import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

describe("runner_attach called twice at once for a workspace with no runner", () => {
  const { principals, network, env } = testIdentities("attach-race", ["alice"]);
  let plane: RunnersControlPlane;

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, env);
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("spawns one runner on the workspace and gives it to both callers, without an error", async () => {
    const alice = plane.clients[0]!;
    const first = await ok(alice, "runner_spawn", { workspace_key: "raced" });
    await sh(alice, "raced", "echo kept > /work/kept.txt");
    await ok(alice, "runner_remove", { runner: first.runner_id as string });

    const [one, two] = await Promise.all([
      ok(alice, "runner_attach", { runner: "raced" }),
      ok(alice, "runner_attach", { runner: "raced" }),
    ]);
    expect(two.runner_id).toBe(one.runner_id);
    expect([one.action, two.action].sort()).toEqual(["reused", "spawned"]);
    expect([one.status, two.status]).toEqual(["ready", "ready"]);
    const runners = (await ok(alice, "runner_list")).runners as { runner_id: string; workspace_key?: string }[];
    expect(runners.filter((runner) => runner.workspace_key === "raced").map((runner) => runner.runner_id)).toEqual([
      one.runner_id,
    ]);
    expect(await sh(alice, "raced", "cat /work/kept.txt")).toBe("kept\n");
  });
});
