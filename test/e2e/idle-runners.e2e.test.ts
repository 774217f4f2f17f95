import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { connectClient, collectLogMessages } from "../support/mcp-client.js";
import { eventually, ok, removeTestWorkspaces, sh, testIdentities } from "../support/runners-fixture.js";

interface ListedRunner {
  runner_id: string;
  alias?: string;
  status: string;
  activity?: string[];
  idle?: { action: string; at: string };
}

/** With short limits: idle runners stop and come back for the next call; work in progress keeps a runner alive. */
describe("idle runners: what counts as work, and coming back", () => {
  const IDLE_S = 3;
  const { principals, network, env } = testIdentities("idle", ["alice"]);
  const alice = principals[0]!;
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  const notices: string[] = [];
  let stateDir = "";
  let client: Client;

  async function start(): Promise<Client> {
    const server = await startControlPlane({
      ...env,
      DEVHATCHERY_STATE_DIR: stateDir,
      DEVHATCHERY_IDLE_STOP_AFTER_S: String(IDLE_S),
      DEVHATCHERY_IDLE_CHECK_INTERVAL_S: "1",
    });
    servers.push(server);
    const connected = await connectClient(server.url, alice.token);
    collectLogMessages(connected, notices);
    clients.push(connected);
    return connected;
  }

  const runners = async (): Promise<Map<string, ListedRunner>> =>
    new Map(((await ok(client, "runner_list")).runners as ListedRunner[]).map((runner) => [runner.alias!, runner]));

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-idle-"));
    client = await start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((connected) => connected.close().catch(() => undefined)));
    for (const server of servers) await server.stop();
    await removeTestWorkspaces(principals, network);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("stops an idle runner, tells the session before and after, and the next call brings it back with /work", async () => {
    for (const alias of ["busy", "background", "idle"]) await ok(client, "runner_spawn", { alias });
    await sh(client, "idle", "echo kept > /work/marker");
    // Work in progress: a foreground exec still running, and a nohup process the agent did not start.
    const running = await ok(client, "exec", { runner: "busy", command: "sleep 12", yield_ms: 100 });
    expect(running.exec_id).toEqual(expect.any(String));
    await sh(client, "background", "nohup sleep 12 > /dev/null 2>&1 &");

    const stopped = await eventually(
      "the idle runner to stop",
      async () => ((await runners()).get("idle")?.status === "stopped" ? await runners() : undefined),
      IDLE_S * 1000 + 15_000,
    );
    expect(stopped.get("idle")?.idle).toMatchObject({ action: "stop", at: expect.any(String) });
    for (const alias of ["busy", "background"]) {
      expect(stopped.get(alias)?.status, alias).toBe("ready");
      expect(stopped.get(alias)?.activity, alias).toContain("processes");
    }
    await eventually("the notices", async () =>
      notices.some((text) => text.includes("is stopped (idle)")) ? true : undefined,
    );
    expect(notices.find((text) => text.includes("has been idle for"))).toMatch(
      /^Runner r-[0-9a-f]{12} \(idle\) has been idle for \d+ s .*stopping it now\. The next call naming it starts it again/,
    );

    // The next call naming it starts it again, transparently, with its files.
    expect(await sh(client, "idle", "cat /work/marker")).toBe("kept\n");
    expect((await runners()).get("idle")).toMatchObject({ status: "ready" });
    expect((await runners()).get("idle")?.idle).toBeUndefined();

    // Once the work is done, the busy runners are idle too.
    await eventually(
      "the busy runners to stop once their processes ended",
      async () => {
        const now = await runners();
        return now.get("busy")?.status === "stopped" && now.get("background")?.status === "stopped" ? true : undefined;
      },
      30_000,
    );
  });

  // The counter is replaced by rename, so a read never sees it half-written (empty).
  it("runner_pause freezes a counting loop and runner_resume continues it; any call thaws a paused runner", async () => {
    await ok(client, "runner_spawn", { alias: "counter" });
    await sh(
      client,
      "counter",
      "nohup sh -c 'i=0; while :; do i=$((i+1)); echo $i > /work/count.new; mv /work/count.new /work/count; sleep 0.05; done' >/dev/null 2>&1 &",
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = Number(await sh(client, "counter", "cat /work/count"));
    expect((await ok(client, "runner_pause", { runner: "counter" })).status).toBe("paused");
    expect((await runners()).get("counter")?.status).toBe("paused");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await ok(client, "runner_resume", { runner: "counter" })).status).toBe("ready");
    const after = Number(await sh(client, "counter", "cat /work/count"));
    // Unfrozen it would have counted about 40 in those 2 s; frozen it counts only while the calls around the pause ran.
    expect(after - before).toBeLessThan(20);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(Number(await sh(client, "counter", "cat /work/count"))).toBeGreaterThan(after);
    await ok(client, "runner_pause", { runner: "counter" });
    expect(await sh(client, "counter", "echo thawed")).toBe("thawed\n");
    await ok(client, "runner_remove", { runner: "counter" });
  });

  it("keeps timers honest across a restart: no runner stopped early, none forgotten", async () => {
    await ok(client, "runner_spawn", { alias: "survivor" });
    await sh(client, "survivor", "true");
    await servers.at(-1)!.stop();
    client = await start();
    // The new process gives every runner its full limit from its own start.
    await new Promise((resolve) => setTimeout(resolve, (IDLE_S - 1) * 1000));
    expect((await runners()).get("survivor")?.status).toBe("ready");
    await eventually(
      "the survivor to stop after its limit",
      async () => ((await runners()).get("survivor")?.status === "stopped" ? true : undefined),
      IDLE_S * 1000 + 15_000,
    );
  });
});
