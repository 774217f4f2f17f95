import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type LoggingMessageNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  ok,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

type LogParams = LoggingMessageNotification["params"];

/** Records log messages and resources/updated URIs sent to `client`. */
function recordNotifications(client: Client): { logs: LogParams[]; updated: string[] } {
  const logs: LogParams[] = [];
  const updated: string[] = [];
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (notification) => void logs.push(notification.params),
  );
  client.setNotificationHandler(
    ResourceUpdatedNotificationSchema,
    (notification) => void updated.push(notification.params.uri),
  );
  return { logs, updated };
}

function logData(log: LogParams): Record<string, unknown> {
  return log.data as Record<string, unknown>;
}

describe("runner_spawn without waiting, and as an MCP task", () => {
  const { principals, network, env } = testIdentities("async", ["alice"]);
  let plane: RunnersControlPlane;
  let alice: Client;
  let heard: { logs: LogParams[]; updated: string[] };

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, { ...env, DEVHATCHERY_MAX_CPUS: "2" });
    alice = plane.clients[0] as Client;
    heard = recordNotifications(alice);
    await alice.setLoggingLevel("info");
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("returns status starting at once, then announces readiness with a log message and resources/updated", async () => {
    // Subscribed by alias before the runner exists: the subscription follows whichever runner gets that alias.
    await alice.subscribeResource({ uri: "devhatchery://runners/early" });
    const spawned = await ok(alice, "runner_spawn", { alias: "early", wait: false });
    expect(spawned).toMatchObject({ alias: "early", reused: false });
    expect(["starting", "ready"]).toContain(spawned.status);
    expect(spawned.startup_ms).toBeUndefined();
    const runnerId = spawned.runner_id as string;

    const ready = await eventually("the ready log message", async () =>
      heard.logs.find((log) => logData(log).runner_id === runnerId && logData(log).status === "ready"),
    );
    expect(ready).toMatchObject({ level: "info", logger: "devhatchery" });
    expect(logData(ready).message).toBe(`Runner ${runnerId} (early) is ready (image devhatchery-test/runner:dev).`);
    await eventually("resources/updated for the runner", async () =>
      heard.updated.includes("devhatchery://runners/early") ? true : undefined,
    );
    const read = await alice.readResource({ uri: `devhatchery://runners/${runnerId}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({
      runner_id: runnerId,
      status: "ready",
      alias: "early",
    });
    await alice.unsubscribeResource({ uri: "devhatchery://runners/early" });
  });

  it("announces a failed background spawn at level error, and runner_list shows why", async () => {
    // The image is looked up after the runner id is fixed, so the call succeeds and the failure comes later.
    const spawned = await ok(alice, "runner_spawn", {
      alias: "doomed",
      image: "devhatchery-test/does-not-exist:nope",
      wait: false,
    });
    expect(spawned).toMatchObject({ status: "starting", alias: "doomed" });
    const runnerId = spawned.runner_id as string;
    const failed = await eventually("the error log message", async () =>
      heard.logs.find((log) => logData(log).runner_id === runnerId && log.level === "error"),
    );
    expect(logData(failed).message).toMatch(new RegExp(`^Runner ${runnerId} \\(doomed\\) failed to start: `));
    const listed = ((await ok(alice, "runner_list")).runners as Record<string, unknown>[]).find(
      (runner) => runner.runner_id === runnerId,
    );
    expect(listed).toMatchObject({
      status: "failed",
      error: expect.stringContaining("devhatchery-test/does-not-exist:nope"),
    });
  });

  it("runs as a task: created at once, working then completed in tasks/get, progress on the session's stream, the plain call's result in tasks/result", async () => {
    const progress: { progress: number; message?: string }[] = [];
    const created = await alice.request(
      {
        method: "tools/call",
        params: { name: "runner_spawn", arguments: { alias: "tasked" }, task: { ttl: 600_000 } },
      },
      CreateTaskResultSchema,
      { onprogress: (notification) => progress.push(notification) },
    );
    expect(created.task).toMatchObject({ status: "working", ttl: 600_000 });
    const taskId = created.task.taskId;
    const seen = new Set<string>();
    const done = await eventually(
      "the task to finish",
      async () => {
        const task = await alice.experimental.tasks.getTask(taskId);
        seen.add(task.status);
        return task.status === "working" ? undefined : task;
      },
      60_000,
    );
    expect(done.status).toBe("completed");
    expect(seen.has("working") || created.task.status === "working").toBe(true);
    // The task's request was answered at once; its progress token stays valid until the task ends.
    await eventually(
      "the last progress notification",
      async () => (progress.at(-1)?.progress === 100 ? true : undefined),
      10_000,
    );
    expect(progress.map((notification) => notification.message?.split(":")[0])).toEqual(
      expect.arrayContaining(["creating", "starting", "ready"]),
    );
    expect(progress.map((notification) => notification.progress)).toEqual(
      [...progress.map((notification) => notification.progress)].sort((a, b) => a - b),
    );
    const result = await alice.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ alias: "tasked", status: "ready", reused: false });
    const listed = ((await ok(alice, "runner_list")).runners as Record<string, unknown>[]).map(
      (runner) => runner.runner_id,
    );
    expect(listed).toContain((result.structuredContent as Record<string, unknown>).runner_id);
    expect((await alice.experimental.tasks.listTasks()).tasks.map((task) => task.taskId)).toContain(taskId);
  });

  it("fails a task whose spawn fails, with the error in statusMessage and tasks/result", async () => {
    const created = await alice.request(
      { method: "tools/call", params: { name: "runner_spawn", arguments: { cpus: 8 }, task: {} } },
      CreateTaskResultSchema,
    );
    const done = await eventually("the task to fail", async () => {
      const task = await alice.experimental.tasks.getTask(created.task.taskId);
      return task.status === "working" ? undefined : task;
    });
    expect(done).toMatchObject({
      status: "failed",
      statusMessage: expect.stringMatching(/^Error POLICY_DENIED: cpus 8 is above this server's maximum of 2/),
    });
    const result = await alice.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/^Error POLICY_DENIED: cpus 8/);
  });

  it("keeps plain calls plain: progress notifications, no task record", async () => {
    const before = (await alice.experimental.tasks.listTasks()).tasks.length;
    const progress: number[] = [];
    const result = await alice.callTool({ name: "runner_spawn", arguments: { alias: "plain" } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
      timeout: 120_000,
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ alias: "plain", status: "ready" });
    expect(progress.length).toBeGreaterThan(0);
    expect((await alice.experimental.tasks.listTasks()).tasks.length).toBe(before);
    const invalid = await alice.callTool({ name: "runner_spawn", arguments: { cpus: "many" } });
    expect(invalid.isError).toBe(true);
    expect((invalid.content as { text: string }[])[0]?.text).toMatch(
      /^Error INVALID_ARGUMENT: Invalid arguments for tool runner_spawn: /,
    );
  });
});
