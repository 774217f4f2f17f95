import { randomBytes } from "node:crypto";
import { writeFile, mkdtemp, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { connectClient } from "../support/mcp-client.js";
import { storedRunnerToken } from "../support/runner-token.js";
import { eventually, fails, ok, sh, testIdentities } from "../support/runners-fixture.js";

const MIB = 1024 * 1024;

interface PoolStatus {
  name: string;
  ready: number;
  starting: number;
  claims: number;
  misses: number;
}

/**
 * The runners of a pool nobody has claimed: created for the pool (owner label pool:<name>, which a claim cannot
 * change) and without a claim in the state store.
 */
async function unclaimed(pool: string, stateDir: string): Promise<string[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`io.devhatchery.owner=pool:${pool}`] },
  });
  return containers
    .map((container) => container.Labels["io.devhatchery.runner"] ?? "")
    .filter((runnerId) => claimRow(stateDir, runnerId) === undefined)
    .sort();
}

async function poolStatus(client: Client): Promise<PoolStatus> {
  const status = await ok(client, "system_status");
  return (status.pools as PoolStatus[])[0]!;
}

/** Waits until the pool holds `ready` ready runners and is not refilling; returns their ids. */
async function poolReady(client: Client, pool: string, stateDir: string, ready: number): Promise<string[]> {
  let last = "";
  try {
    return await eventually(
      `pool ${pool} with ${ready} ready`,
      async () => {
        const status = await poolStatus(client);
        const ids = await unclaimed(pool, stateDir);
        last = `${JSON.stringify(status)}, unclaimed containers ${ids.join(", ") || "none"}`;
        if (status.ready !== ready || status.starting !== 0) return undefined;
        return ids.length === ready ? ids : undefined;
      },
      60_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${last}`);
  }
}

/** GET /debug.json on the runner's agent with `token`: its HTTP status. */
async function debugStatus(runnerId: string, token: string): Promise<number> {
  const info = await docker.getContainer(`devhatchery-${runnerId}`).inspect();
  const address = Object.values(info.NetworkSettings.Networks).find((network) => network.IPAddress)?.IPAddress;
  const response = await fetch(`http://${address}:7071/debug.json`, { headers: { authorization: `Bearer ${token}` } });
  await response.body?.cancel();
  return response.status;
}

function claimRow(stateDir: string, runnerId: string): Record<string, unknown> | undefined {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true });
  try {
    return db.prepare("SELECT principal, state FROM runner_claims WHERE runner_id = ?").get(runnerId) as
      Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

/**
 * Warm pools through a real MCP client on real Docker: a claim hands over a ready runner with nothing of the pool's
 * life left (fresh /work, a new agent token, the caller's env and limits), refills, never hands one runner to two
 * callers, and survives a control plane killed between the claim and its answer.
 */
describe("warm pools", () => {
  const { principals, network, env: identities } = testIdentities("pools", ["alice", "bob"]);
  const [alice, bob] = principals as [(typeof principals)[number], (typeof principals)[number]];
  const pool = `e2e-${randomBytes(3).toString("hex")}`;
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  let base = "";
  let env: Record<string, string> = {};
  const stateDir = (): string => env.DEVHATCHERY_STATE_DIR!;

  async function start(extra: Record<string, string> = {}): Promise<ControlPlaneProcess> {
    // A test that failed left its control plane running: the next one needs the state folder.
    for (const running of servers) await running.stop().catch(() => undefined);
    const server = await startControlPlane({ ...env, ...extra });
    servers.push(server);
    return server;
  }

  async function connect(server: ControlPlaneProcess, token: string): Promise<Client> {
    const client = await connectClient(server.url, token);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-pools-"));
    const config = join(base, "devhatchery.yaml");
    // One pool of one runner (growing to two after a miss): every claim below is observable by id.
    // A second pool whose runners could never fit in the host's memory: it must not create any.
    await writeFile(
      config,
      `limits:\n  max:\n    memory_mb: 1048576\npools:\n  - name: ${pool}\n    min: 1\n    max: 2\n    cpus: 2\n    memory_mb: 1024\n` +
        `  - name: ${pool}-huge\n    min: 1\n    memory_mb: 1048576\n`,
    );
    env = {
      ...identities,
      DEVHATCHERY_CONFIG: config,
      DEVHATCHERY_INSTANCE: `e2e-pools-${randomBytes(3).toString("hex")}`,
      DEVHATCHERY_STATE_DIR: join(base, "state"),
      DEVHATCHERY_AUDIT_LOG: join(base, "audit.jsonl"),
    };
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    for (const server of servers) await server.stop().catch(() => undefined);
    await removeTestRunners([alice.id, bob.id, `pool:${pool}`, `pool:${pool}-huge`], network);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("claims a ready runner with a fresh /work, a new token, the caller's env and limits, and refills", async () => {
    const server = await start();
    const mcp = await connect(server, alice.token);
    const other = await connect(server, bob.token);
    const [pooled] = await poolReady(mcp, pool, stateDir(), 1);
    // Host capacity: the pool of 1 TiB runners creates none and says why.
    const huge = ((await ok(mcp, "system_status")).pools as Array<Record<string, unknown>>)[1]!;
    expect(huge).toMatchObject({ name: `${pool}-huge`, ready: 0 });
    expect(huge.last_error).toMatch(/more than the host's \d+ MiB .*lower pools\[\]\.min, max or memory_mb/);
    expect(await unclaimed(`${pool}-huge`, stateDir())).toEqual([]);
    const poolToken = storedRunnerToken(server.stateDir, pooled!);
    expect(poolToken).not.toBe("");

    const claimed = await ok(mcp, "runner_spawn", {
      storage: "tmpfs",
      alias: "warm",
      env: { GREETING: "hello from the claim" },
      cpus: 1,
      memory_mb: 512,
    });
    expect(claimed).toMatchObject({
      runner_id: pooled,
      status: "ready",
      pooled: true,
      alias: "warm",
      storage: "tmpfs",
      limits: { cpus: 1, memory_mb: 512 },
    });
    // Nothing of the pool's life: an empty /work, the caller's env in every exec (a request's own env wins).
    expect(await sh(mcp, "warm", "ls -A /work | wc -l")).toBe("0\n");
    expect(await sh(mcp, "warm", 'echo "$GREETING"')).toBe("hello from the claim\n");
    const own = await ok(mcp, "exec", { runner: "warm", command: 'echo "$GREETING"', env: { GREETING: "mine" } });
    expect(own.stdout).toBe("mine\n");
    // The caller's limits are the container's, applied before the claim returned.
    const host = (await docker.getContainer(`devhatchery-${pooled}`).inspect()).HostConfig;
    expect({ cpus: (host.NanoCpus ?? 0) / 1e9, memory: (host.Memory ?? 0) / MIB }).toEqual({ cpus: 1, memory: 512 });
    // The pool's token opens nothing any more; the claim's does.
    const claimToken = storedRunnerToken(server.stateDir, pooled!);
    expect(claimToken).not.toBe(poolToken);
    expect(await debugStatus(pooled!, poolToken)).toBe(401);
    expect(await debugStatus(pooled!, claimToken)).toBe(200);
    expect(claimRow(server.stateDir, pooled!)).toEqual({ principal: alice.id, state: "claimed" });

    // It is alice's alone: listed for her, unknown to bob.
    const listed = (await ok(mcp, "runner_list")).runners as Array<Record<string, unknown>>;
    expect(listed.find((runner) => runner.runner_id === pooled)).toMatchObject({ alias: "warm", pooled: true });
    expect((await ok(other, "runner_list")).runners).toEqual([]);
    expect(await fails(other, "exec", { runner: pooled, command: "true" })).toMatch(/NOT_FOUND/);
    expect(await fails(other, "runner_remove", { runner: pooled })).toMatch(/NOT_FOUND/);

    // The pool refilled with another runner.
    const [refill] = await poolReady(mcp, pool, stateDir(), 1);
    expect(refill).not.toBe(pooled);
    expect((await poolStatus(mcp)).claims).toBe(1);

    // A spawn that does not match (storage volume, the default) starts cold and says so.
    const cold = await ok(mcp, "runner_spawn", { alias: "cold" });
    expect(cold.pooled).toBe(false);
    expect(await unclaimed(pool, stateDir())).toEqual([refill]);

    await ok(mcp, "runner_remove", { runner: "warm" });
    await ok(mcp, "runner_remove", { runner: "cold" });
    expect(claimRow(server.stateDir, pooled!)).toBeUndefined();
    const audit = await readFile(join(base, "audit.jsonl"), "utf8");
    expect(audit).toMatch(
      new RegExp(`"action":"pool.claim","outcome":"ok","principal":"${alice.id}".*"runner":"${pooled}"`),
    );
    expect(audit).not.toContain("hello from the claim");
    await server.stop();
  });

  it("never hands one runner to two callers: racing claims get the ready one and a cold one", async () => {
    const server = await start();
    const first = await connect(server, alice.token);
    const second = await connect(server, bob.token);
    // The runner the last test's pool left was adopted at start.
    const [ready] = await poolReady(first, pool, stateDir(), 1);
    const results = await Promise.all([
      ok(first, "runner_spawn", { storage: "tmpfs", memory_mb: 1024 }),
      ok(second, "runner_spawn", { storage: "tmpfs", memory_mb: 1024 }),
    ]);
    const ids = results.map((result) => result.runner_id);
    expect(new Set(ids).size).toBe(2);
    expect(results.map((result) => result.pooled).sort()).toEqual([false, true]);
    expect(ids).toContain(ready);
    // The miss grows the pool towards max (2).
    await poolReady(first, pool, stateDir(), 2);
    expect((await poolStatus(first)).misses).toBe(1);
    for (const [client, result] of [
      [first, results[0]!],
      [second, results[1]!],
    ] as const)
      await ok(client, "runner_remove", { runner: result.runner_id });
    await server.stop();
  });

  it("keeps a claim a crash interrupted with its claimer, and leaks no pooled runner", async () => {
    const crashing = await start({ DEVHATCHERY_TEST_FIXTURES: "1", DEVHATCHERY_TEST_FAULT: "claim-crash" });
    const mcp = await connect(crashing, alice.token);
    const readyBefore = await poolReady(mcp, pool, stateDir(), 2);
    // The control plane dies between recording the claim and answering it.
    const call = mcp
      .callTool({
        name: "runner_spawn",
        arguments: {
          storage: "tmpfs",
          memory_mb: 1024,
          idempotency_key: "crash-1",
          env: { MARK: "claimed before the crash" },
        },
      })
      .then(
        () => "answered",
        () => "failed",
      );
    await eventually("the crashed control plane to exit", async () =>
      (await exited(crashing.pid)) ? true : undefined,
    );
    // The answer never comes: closing the client ends the call (instead of its 60 s request timeout).
    await mcp.close();
    expect(await call).toBe("failed");
    const claimedId = readyBefore.find((id) => claimRow(crashing.stateDir, id) !== undefined);
    expect(claimedId, "a claim was recorded before the crash").toBeDefined();
    expect(claimRow(crashing.stateDir, claimedId!)).toEqual({ principal: alice.id, state: "claiming" });

    const server = await start();
    const again = await connect(server, alice.token);
    const other = await connect(server, bob.token);
    // The retry with the same key returns the runner the interrupted claim took, finished: alice's, her env, a new token.
    const retried = await ok(again, "runner_spawn", {
      storage: "tmpfs",
      memory_mb: 1024,
      idempotency_key: "crash-1",
      env: { MARK: "claimed before the crash" },
    });
    expect(retried.runner_id).toBe(claimedId);
    expect(await sh(again, claimedId!, 'echo "$MARK"')).toBe("claimed before the crash\n");
    expect(claimRow(server.stateDir, claimedId!)).toEqual({ principal: alice.id, state: "claimed" });
    expect((await ok(other, "runner_list")).runners).toEqual([]);
    // No runner leaked: the other pooled one was adopted (the pool's min is 1), none was created beside it.
    const left = await poolReady(again, pool, stateDir(), 1);
    expect(left).not.toContain(claimedId);
    expect(readyBefore).toContain(left[0]);
    expect(await poolStatus(again)).toMatchObject({ ready: 1, claims: 0, misses: 0 });
    await ok(again, "runner_remove", { runner: claimedId });
    await server.stop();
  });
});

async function exited(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
