import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, describe, expect, it } from "vitest";
import { docker, removeTestSnapshots } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { connectClient } from "../support/mcp-client.js";
import { fails, ok, removeTestWorkspaces, sh, testIdentities } from "../support/runners-fixture.js";

interface Listed {
  runner_id: string;
  alias?: string;
  status: string;
}

describe("control planes sharing one engine or one state folder", () => {
  // Both control planes know the same principal (same name, same token): only the instance tells their runners apart.
  const { principals, network, env } = testIdentities("instances", ["alice"]);
  const alice = principals[0] as (typeof principals)[number];
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  const stateDirs: string[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    for (const server of servers) await server.stop();
    await removeTestWorkspaces(principals, network);
    await removeTestSnapshots([alice.id]);
    for (const dir of stateDirs) await rm(dir, { recursive: true, force: true });
  });

  async function stateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-instances-"));
    stateDirs.push(dir);
    return dir;
  }

  async function start(dir: string, port?: number): Promise<{ server: ControlPlaneProcess; client: Client }> {
    const server = await startControlPlane({
      ...env,
      DEVHATCHERY_STATE_DIR: dir,
      ...(port === undefined ? {} : { DEVHATCHERY_LISTEN_PORT: String(port) }),
    });
    servers.push(server);
    const client = await connectClient(server.url, alice.token);
    clients.push(client);
    return { server, client };
  }

  const list = async (client: Client): Promise<Listed[]> => (await ok(client, "runner_list")).runners as Listed[];

  it("refuses a second control plane on the same state folder, naming the first one's pid and the fix", async () => {
    const dir = await stateDir();
    const { server: first } = await start(dir);
    const refusal = await startControlPlane({ ...env, DEVHATCHERY_STATE_DIR: dir }).then(
      (second) => {
        servers.push(second);
        return "the second control plane started";
      },
      (error: unknown) => (error as Error).message,
    );
    expect(refusal).toMatch(/^control plane exited with code 1 before listening:/);
    expect(refusal).toContain(
      `devhatchery: The state folder "${dir}" is in use by another control plane (pid ${first.pid}); two control planes on one state store would ` +
        "adopt and reconcile each other's runners. Stop that one, or give this one another state.dir (DEVHATCHERY_STATE_DIR).",
    );
    // The first one serves on, untouched.
    expect(await list(clients[0] as Client)).toEqual([]);
  });

  it("keeps two control planes on one engine apart: runners, workspaces and snapshots, also across a restart", async () => {
    const a = await start(await stateDir());
    const bDir = await stateDir();
    let b = await start(bDir);

    // Equal principal, alias and workspace key on both: two runners, two volumes.
    const mine = await ok(a.client, "runner_spawn", { alias: "dev", workspace_key: "project" });
    await sh(a.client, "dev", "echo from-a > /work/owner.txt");
    expect((await list(b.client)).map((runner) => runner.runner_id)).toEqual([]);
    expect(await ok(b.client, "volume_list", { sizes: false })).toEqual({ workspaces: [] });
    expect(await fails(b.client, "runner_stop", { runner: mine.runner_id as string })).toContain(
      `Runner "${mine.runner_id}" not found for this principal`,
    );
    expect(await fails(b.client, "exec", { runner: "dev", command: "cat /work/owner.txt" })).toContain(
      'Runner "dev" not found for this principal',
    );

    const theirs = await ok(b.client, "runner_spawn", { alias: "dev", workspace_key: "project" });
    expect(theirs.runner_id).not.toBe(mine.runner_id);
    expect(await sh(b.client, "dev", "cat /work/owner.txt 2>/dev/null || echo empty")).toBe("empty\n");
    const volumesOf = async (client: Client): Promise<string[]> =>
      (
        (await ok(client, "volume_list", { sizes: false })).workspaces as { workspace_key: string; runners: string[] }[]
      ).map((entry) => `${entry.workspace_key}:${entry.runners.join(",")}`);
    expect(await volumesOf(a.client)).toEqual([`project:${mine.runner_id}`]);
    expect(await volumesOf(b.client)).toEqual([`project:${theirs.runner_id}`]);

    const snapshot = await ok(a.client, "snapshot_create", { runner: "dev", name: "a-only" });
    expect(await ok(b.client, "snapshot_list")).toEqual({ snapshots: [] });
    expect(await fails(b.client, "runner_spawn", { snapshot: snapshot.snapshot_id as string })).toContain(
      `Snapshot "${snapshot.snapshot_id}" not found for this principal`,
    );

    // Killing B and starting it again on its state reconciles B's runners only: A's keeps running, same container.
    const before = await docker.getContainer(`devhatchery-${mine.runner_id as string}`).inspect();
    await b.server.kill();
    b = await start(bDir, b.server.port);
    expect((await list(b.client)).map((runner) => runner.runner_id)).toEqual([theirs.runner_id]);
    expect((await list(a.client)).map((runner) => [runner.runner_id, runner.status])).toEqual([
      [mine.runner_id, "ready"],
    ]);
    const after = await docker.getContainer(`devhatchery-${mine.runner_id as string}`).inspect();
    expect([after.Id, after.State.StartedAt, after.State.Running]).toEqual([before.Id, before.State.StartedAt, true]);
    expect(await sh(a.client, "dev", "cat /work/owner.txt")).toBe("from-a\n");
  });
});
