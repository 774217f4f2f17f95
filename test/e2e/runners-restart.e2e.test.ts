import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { connectClient } from "../support/mcp-client.js";
import { containersOf, eventually, ok, removeTestWorkspaces, sh, testIdentities } from "../support/runners-fixture.js";

interface ListedRunner {
  runner_id: string;
  status: string;
  alias?: string;
}

describe("the control plane killed with SIGKILL mid-session and started again on the same state", () => {
  const { principals, network, env } = testIdentities("restart", ["alice"]);
  const alice = principals[0] as (typeof principals)[number];
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  let stateDir = "";

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    for (const server of servers) await server.stop();
    await removeTestWorkspaces(principals, network);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  async function start(port?: number): Promise<Client> {
    const server = await startControlPlane({
      ...env,
      DEVHATCHERY_STATE_DIR: stateDir,
      ...(port === undefined ? {} : { DEVHATCHERY_LISTEN_PORT: String(port) }),
    });
    servers.push(server);
    const client = await connectClient(server.url, alice.token);
    clients.push(client);
    return client;
  }

  const list = async (client: Client): Promise<ListedRunner[]> =>
    (await ok(client, "runner_list")).runners as ListedRunner[];

  it("keeps runners, workspaces, idempotency keys and tasks, and duplicates or orphans nothing", async () => {
    stateDir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-restart-"));
    const before = await start();
    const spawnArgs = { alias: "durable", workspace_key: "durable-ws", idempotency_key: "restart-key" };
    const durable = await ok(before, "runner_spawn", spawnArgs);
    await sh(before, "durable", "echo 'written before the crash' > /work/before.txt");
    const created = await before.request(
      { method: "tools/call", params: { name: "runner_spawn", arguments: { alias: "tasked" }, task: {} } },
      CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    await eventually(
      "the task to finish",
      async () => ((await before.experimental.tasks.getTask(taskId)).status === "working" ? undefined : true),
      60_000,
    );
    // One more spawn still starting when the control plane dies.
    const inFlight = await ok(before, "runner_spawn", { alias: "in-flight", wait: false });

    const first = servers[0] as ControlPlaneProcess;
    await first.kill();
    const after = await start(first.port);
    expect((servers[1] as ControlPlaneProcess).url).toBe(first.url);

    // The runner spawned in flight ends up ready (adopted) or failed (reported), never stuck starting.
    const settled = await eventually("the in-flight spawn to settle", async () => {
      const runner = (await list(after)).find((candidate) => candidate.runner_id === inFlight.runner_id);
      return runner && runner.status !== "starting" ? runner : undefined;
    });
    expect(["ready", "failed"]).toContain(settled.status);

    const runners = await list(after);
    expect(runners.find((runner) => runner.runner_id === durable.runner_id)).toMatchObject({
      status: "ready",
      alias: "durable",
    });
    expect(runners.find((runner) => runner.alias === "tasked")).toMatchObject({ status: "ready" });
    expect(await ok(after, "runner_attach", { runner: "durable-ws" })).toMatchObject({
      runner_id: durable.runner_id,
      action: "reused",
    });
    expect(await sh(after, "durable", "cat /work/before.txt")).toBe("written before the crash\n");
    // The restarted control plane reached it with the token its state store kept (Docker holds none for agents that
    // read it on stdin), and hands it over again when the runner is started again.
    const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true });
    try {
      expect(
        db.prepare("SELECT count(*) AS rows FROM runner_tokens WHERE runner_id = ?").get(durable.runner_id as string),
      ).toEqual({ rows: 1 });
    } finally {
      db.close();
    }
    await ok(after, "runner_stop", { runner: "durable" });
    expect(await ok(after, "runner_attach", { runner: "durable-ws" })).toMatchObject({
      runner_id: durable.runner_id,
      action: "started",
    });
    expect(await sh(after, "durable", "cat /work/before.txt")).toBe("written before the crash\n");

    // The idempotency key still names the same runner: no second container.
    const containersBefore = await containersOf(alice);
    expect(await ok(after, "runner_spawn", spawnArgs)).toMatchObject({ runner_id: durable.runner_id, reused: true });
    expect(await containersOf(alice)).toBe(containersBefore);

    // The task survived with its result.
    expect((await after.experimental.tasks.getTask(taskId)).status).toBe("completed");
    const result = await after.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ alias: "tasked", status: "ready" });

    // Nothing orphaned: every container of the principal is a runner runner_list shows.
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.owner=${alice.id}`] },
    });
    const listedIds = new Set((await list(after)).map((runner) => runner.runner_id));
    expect(
      containers
        .map((container) => container.Labels["io.devhatchery.runner"])
        .filter((id) => !listedIds.has(id as string)),
    ).toEqual([]);
  });
});
