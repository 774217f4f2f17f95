import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  fails,
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

describe("two principals cannot see or touch each other's runners, workspaces or tasks", () => {
  const { principals, network, env } = testIdentities("isolation", ["alice", "bob"]);
  let plane: RunnersControlPlane;
  let alice: Client;
  let bob: Client;
  let runnerId = "";
  let taskId = "";

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, env);
    [alice, bob] = plane.clients as [Client, Client];
    const spawned = await ok(alice, "runner_spawn", {
      alias: "mine",
      workspace_key: "secret-ws",
      idempotency_key: "shared-key",
    });
    runnerId = spawned.runner_id as string;
    await sh(alice, "mine", "echo alice-only > /work/secret.txt");
    const created = await alice.request(
      { method: "tools/call", params: { name: "runner_spawn", arguments: { alias: "alice-task" }, task: {} } },
      CreateTaskResultSchema,
    );
    taskId = created.task.taskId;
    await eventually(
      "alice's task to finish",
      async () => ((await alice.experimental.tasks.getTask(taskId)).status === "working" ? undefined : true),
      60_000,
    );
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("lists nothing of the other principal", async () => {
    expect(await ok(bob, "runner_list")).toEqual({ runners: [] });
    expect(await ok(bob, "volume_list")).toEqual({ workspaces: [] });
    expect(await ok(bob, "system_status")).toMatchObject({ runner_count: 0, workspace_count: 0 });
    expect((await bob.experimental.tasks.listTasks()).tasks).toEqual([]);
    expect(
      (await bob.listResources()).resources
        .map((resource) => resource.uri)
        .filter((uri) => uri.startsWith("devhatchery://runners/")),
    ).toEqual([]);
  });

  it("answers every guessed id, alias and workspace key exactly like a missing one", async () => {
    for (const ref of [runnerId, "mine", "secret-ws"]) {
      const notFound = `Error NOT_FOUND: Runner "${ref}" not found for this principal; spawn one with runner_spawn.`;
      for (const [tool, args] of [
        ["exec", { runner: ref, command: "cat /work/secret.txt" }],
        ["fs_read", { runner: ref, path: "/work/secret.txt" }],
        ["runner_stop", { runner: ref }],
        ["runner_remove", { runner: ref, remove_volume: true }],
        ["runner_attach", { runner: ref }],
      ] as const) {
        expect((await fails(bob, tool, args)).split("\n")[0], `${tool} ${ref}`).toBe(notFound);
      }
      await expect(bob.readResource({ uri: `devhatchery://runners/${ref}` })).rejects.toThrow(
        /not found for this principal/,
      );
    }
    await expect(bob.subscribeResource({ uri: `devhatchery://runners/${runnerId}` })).rejects.toThrow(
      /not found for this principal/,
    );
    expect(await fails(bob, "volume_remove", { workspace_key: "secret-ws" })).toMatch(
      /^Error NOT_FOUND: Workspace "secret-ws" not found for this principal/,
    );
    // Alice's runner is untouched.
    expect(await sh(alice, runnerId, "cat /work/secret.txt")).toBe("alice-only\n");
  });

  it("gives the other principal its own workspace, alias and idempotency key of the same names", async () => {
    const own = await ok(bob, "runner_spawn", {
      alias: "mine",
      workspace_key: "secret-ws",
      idempotency_key: "shared-key",
    });
    expect(own.runner_id).not.toBe(runnerId);
    expect(own.reused).toBe(false);
    expect(await sh(bob, "mine", "ls /work")).toBe("");
    expect(await sh(alice, "mine", "cat /work/secret.txt")).toBe("alice-only\n");
    await ok(bob, "runner_remove", { runner: "mine", remove_volume: true });
  });

  it("keeps tasks to their principal", async () => {
    await expect(bob.experimental.tasks.getTask(taskId)).rejects.toThrow(/not found/i);
    await expect(bob.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)).rejects.toThrow(/not found/i);
    expect((await alice.experimental.tasks.getTask(taskId)).status).toBe("completed");
  });
});
