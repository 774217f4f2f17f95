import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import {
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

/** Debian without the agent: the control plane injects the current one. */
const INJECTED_IMAGE = "devhatchery-test/debian:bookworm";

describe("memory pressure in a 256 MiB runner with a tmpfs /work: what the runner runs is killed, never the agent", () => {
  const { principals, network, env } = testIdentities("oom", ["alice"]);
  let plane: RunnersControlPlane;
  let client: Client;
  let runnerId = "";

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, env);
    client = plane.clients[0] as Client;
    runnerId = (
      await ok(client, "runner_spawn", { alias: "tight", image: INJECTED_IMAGE, storage: "tmpfs", memory_mb: 256 })
    ).runner_id as string;
  });
  afterAll(async () => {
    await plane?.close();
  });

  const agentAlive = async (): Promise<void> => {
    const info = await docker.getContainer(`devhatchery-${runnerId}`).inspect();
    expect(info.State).toMatchObject({ Running: true, OOMKilled: false });
    expect(await sh(client, "tight", "echo still here")).toBe("still here\n");
  };

  it("caps the tmpfs within the memory limit: filling /work with 400 MB fails with ENOSPC and the agent stays up", async () => {
    expect(await sh(client, "tight", "df -m /work | tail -1 | tr -s ' ' | cut -d' ' -f2")).toBe("160\n");
    const fill = await ok(client, "exec", { runner: "tight", command: "head -c 400M /dev/zero > /work/big" });
    expect(fill.exit_code).not.toBe(0);
    expect(fill.stderr).toContain("No space left on device");
    await agentAlive();
    await sh(client, "tight", "rm /work/big");
  });

  it("kills a memory hog made of many small processes, not the agent, even though the agent is the largest process", async () => {
    // 40 processes of about 8 MiB each: together well past 256 MiB, each far smaller than the agent.
    const hog = await ok(client, "exec", {
      runner: "tight",
      command: "for i in $(seq 1 40); do perl -e '$x = \"x\" x (8 * 1024 * 1024); sleep 3' & done; wait; echo done",
      timeout_ms: 60_000,
      yield_ms: 60_000,
    });
    expect(hog).toMatchObject({ state: "exited", exit_code: 0, stdout: "done\n" });
    await agentAlive();
  });

  it("kills a single process allocating past the limit and says it was OOM-killed", async () => {
    const hog = await ok(client, "exec", {
      runner: "tight",
      command: "perl -e '$x = \"x\" x (400 * 1024 * 1024)'",
      timeout_ms: 60_000,
      yield_ms: 60_000,
    });
    expect(hog.reason).toBe("oom_killed");
    await agentAlive();
  });
});
