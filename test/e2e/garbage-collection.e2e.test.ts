import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeTestSnapshots } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { connectClient, collectLogMessages } from "../support/mcp-client.js";
import { eventually, ok, removeTestWorkspaces, sh, testIdentities } from "../support/runners-fixture.js";
import { runDevhatchery } from "./cli-process.js";

interface GcItem {
  kind: string;
  id: string;
  principal?: string;
  reason: string;
}

/** Workspace volume names of a principal (any instance), by workspace key. */
async function workspaceVolumes(principal: string): Promise<Map<string, string>> {
  const { Volumes } = await docker.listVolumes({ filters: { label: [`io.devhatchery.owner=${principal}`] } });
  return new Map((Volumes ?? []).map((volume) => [volume.Labels["io.devhatchery.workspace"] ?? "", volume.Name]));
}

async function auditRecords(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Retention with `devhatchery gc`: the dry run lists exactly what the collection then deletes, and nothing mounted. */
describe("garbage collection: retention of workspaces, snapshots and exports", () => {
  const RETENTION_S = 6;
  const { principals, network, env: identities } = testIdentities("gc", ["alice"]);
  const alice = principals[0]!;
  let base = "";
  let env: Record<string, string> = {};
  let server: ControlPlaneProcess | undefined;
  let client: Client | undefined;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-gc-"));
    env = {
      ...identities,
      // An instance of its own: retention never reaches another test's runners, volumes or snapshots.
      DEVHATCHERY_INSTANCE: `e2e-gc-${randomBytes(3).toString("hex")}`,
      DEVHATCHERY_STATE_DIR: join(base, "state"),
      DEVHATCHERY_EXPORT_ROOT: join(base, "exports"),
      DEVHATCHERY_AUDIT_LOG: join(base, "audit.jsonl"),
      DEVHATCHERY_WORKSPACE_RETENTION_S: String(RETENTION_S),
      DEVHATCHERY_SNAPSHOT_RETENTION_S: String(RETENTION_S),
      DEVHATCHERY_EXPORT_RETENTION_S: String(RETENTION_S),
      DEVHATCHERY_RETENTION_WARNING_S: "0",
      // The server's own collection stays out of the way: this test runs `devhatchery gc`.
      DEVHATCHERY_GC_INTERVAL_S: "3600",
    };
    server = await startControlPlane(env);
    client = await connectClient(server.url, alice.token);
  });
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await server?.stop();
    await removeTestWorkspaces(principals, network);
    await removeTestSnapshots([alice.id]);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("deletes exactly what the dry run listed, never a mounted workspace, and audits each deletion", async () => {
    const mcp = client!;
    await ok(mcp, "runner_spawn", { alias: "keeper", workspace_key: "mounted" });
    await ok(mcp, "runner_spawn", { alias: "gone", workspace_key: "released" });
    await sh(mcp, "gone", "echo data > /work/file");
    await ok(mcp, "runner_remove", { runner: "gone" });
    const snapshot = await ok(mcp, "snapshot_create", { runner: "keeper", name: "old" });
    await sh(mcp, "keeper", "mkdir -p /work/out && echo result > /work/out/result.txt");
    await ok(mcp, "export_create", { runner: "keeper", path: "/work/out", format: "tar", name: "results" });
    expect([...(await workspaceVolumes(alice.id)).keys()].sort()).toEqual(["mounted", "released"]);

    // While the control plane runs, it owns the state folder: `gc` only plans.
    const refused = await runDevhatchery(["gc"], env);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/is in use by another control plane.*collects garbage itself every 3600 s/s);

    await new Promise((resolve) => setTimeout(resolve, RETENTION_S * 1000 + 500));
    await client!.close();
    client = undefined;
    await server!.stop();
    server = undefined;

    const planned = await runDevhatchery(["gc", "--dry-run", "--json"], env);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as { due: GcItem[]; soon: GcItem[] };
    const mine = (items: GcItem[]): string[] =>
      items
        .filter((item) => item.principal === alice.id)
        .map((item) => `${item.kind}:${item.id}:${item.reason}`)
        .sort();
    expect(mine(plan.due)).toEqual([
      "export:results.tar:retention",
      `snapshot:${snapshot.snapshot_id as string}:retention`,
      "workspace:released:retention",
    ]);
    const text = await runDevhatchery(["gc", "--dry-run"], env);
    expect(text.stdout).toMatch(/dry run: nothing is deleted/);
    expect(text.stdout).toContain(`workspace        ${alice.id}/released (retention, due `);
    // The dry run deleted nothing.
    expect([...(await workspaceVolumes(alice.id)).keys()].sort()).toEqual(["mounted", "released"]);

    const collected = await runDevhatchery(["gc", "--json"], env);
    expect(collected.code, collected.stdout + collected.stderr).toBe(0);
    const report = JSON.parse(collected.stdout) as { deleted: GcItem[]; failed: GcItem[] };
    expect(mine(report.deleted)).toEqual(mine(plan.due));
    expect(report.failed).toEqual([]);

    // Exactly those are gone; the workspace the (still running) keeper mounts is not.
    expect([...(await workspaceVolumes(alice.id)).keys()]).toEqual(["mounted"]);
    const snapshots = await docker.listImages({ filters: { label: [`io.devhatchery.owner=${alice.id}`] } });
    expect(snapshots).toEqual([]);
    expect(existsSync(join(base, "exports", alice.id, "results.tar"))).toBe(false);
    expect(existsSync(join(base, "exports", alice.id, "results.tar.manifest.json"))).toBe(false);

    const deletions = (await auditRecords(join(base, "audit.jsonl"))).filter(
      (record) => record.action === "gc.delete" && record.principal === alice.id,
    );
    expect(
      deletions.map((record) => `${String(record.kind)}:${String(record.id)}:${String(record.outcome)}`).sort(),
    ).toEqual(["export:results.tar:ok", `snapshot:${snapshot.snapshot_id as string}:ok`, "workspace:released:ok"]);

    // Nothing is left to do.
    const again = await runDevhatchery(["gc", "--dry-run", "--json"], env);
    expect(mine((JSON.parse(again.stdout) as { due: GcItem[] }).due)).toEqual([]);
  });
});

/** The server removes runners past their lifetime on its own: warned ahead, never early across a restart, none forgotten. */
describe("garbage collection: runner lifetime", () => {
  const LIFETIME_S = 18;
  const { principals, network, env: identities } = testIdentities("lifetime", ["alice"]);
  const alice = principals[0]!;
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  const notices: string[] = [];
  let base = "";
  let env: Record<string, string> = {};

  async function start(): Promise<Client> {
    const server = await startControlPlane(env);
    servers.push(server);
    const connected = await connectClient(server.url, alice.token);
    collectLogMessages(connected, notices);
    clients.push(connected);
    return connected;
  }

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-lifetime-"));
    env = {
      ...identities,
      DEVHATCHERY_INSTANCE: `e2e-lifetime-${randomBytes(3).toString("hex")}`,
      DEVHATCHERY_STATE_DIR: join(base, "state"),
      DEVHATCHERY_AUDIT_LOG: join(base, "audit.jsonl"),
      DEVHATCHERY_RUNNER_MAX_LIFETIME_S: String(LIFETIME_S),
      DEVHATCHERY_RETENTION_WARNING_S: String(LIFETIME_S - 4),
      DEVHATCHERY_GC_INTERVAL_S: "1",
    };
  });
  afterAll(async () => {
    await Promise.all(clients.map((connected) => connected.close().catch(() => undefined)));
    for (const server of servers) await server.stop();
    await removeTestWorkspaces(principals, network);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("warns the owner, survives a restart of the control plane, and removes the runner at its lifetime with /work kept", async () => {
    let client = await start();
    const spawned = await ok(client, "runner_spawn", { alias: "short", workspace_key: "short-work" });
    const createdAt = Date.parse(spawned.created_at as string);
    await sh(client, "short", "echo kept > /work/marker");
    await eventually(
      "the lifetime warning",
      async () => notices.find((text) => text.includes("reaches its maximum lifetime")),
      10_000,
    );
    expect(notices.find((text) => text.includes("reaches its maximum lifetime"))).toMatch(
      new RegExp(
        `^Runner ${spawned.runner_id as string} reaches its maximum lifetime and will be deleted at .*; export what you need`,
      ),
    );

    // A restart in the middle: the lifetime counts from the runner's creation, not from the new process.
    await clients.at(-1)!.close();
    await servers.at(-1)!.stop();
    client = await start();
    const untilDue = createdAt + LIFETIME_S * 1000 - Date.now();
    // Checked 3 s before it is due (a loaded machine answers runner_list slowly, the collector runs every second).
    expect(untilDue).toBeGreaterThan(3000);
    await new Promise((resolve) => setTimeout(resolve, untilDue - 3000));
    const listed = (await ok(client, "runner_list")).runners as Array<{ alias?: string }>;
    expect(listed.map((runner) => runner.alias)).toContain("short");
    await eventually(
      "the runner to be removed at its lifetime",
      async () => (((await ok(client, "runner_list")).runners as unknown[]).length === 0 ? Date.now() : undefined),
      15_000,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(createdAt + LIFETIME_S * 1000);
    expect([...(await workspaceVolumes(alice.id)).keys()]).toEqual(["short-work"]);
    const records = (await auditRecords(join(base, "audit.jsonl"))).filter((record) => record.action === "gc.delete");
    expect(records).toEqual([
      expect.objectContaining({
        principal: alice.id,
        outcome: "ok",
        kind: "runner",
        id: spawned.runner_id,
        reason: "max_lifetime",
      }),
    ]);
    // Its workspace comes back with its files on the next attach.
    await ok(client, "runner_attach", { runner: "short-work" });
    expect(await sh(client, "short-work", "cat /work/marker")).toBe("kept\n");
  });
});
