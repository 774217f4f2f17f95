import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  McpError,
  type CallToolResult,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createSqliteStateStore } from "../../store/sqlite-state-store.js";
import type { StateStore } from "../../store/state-store.js";
import { createPrincipalTaskStore, type PrincipalTaskStoreOptions } from "./principal-task-store.js";
import { TASKS_CAPABILITY } from "./tasks-capability.js";

/** Work started by the `echo_later` tool, finished (or failed) when the test says so. */
interface PendingWork {
  taskId: string;
  finish(status: "completed" | "failed"): Promise<void>;
  progress(message: string): Promise<void>;
}

/** One MCP session of `principal`: a real McpServer with the principal task store, and a Client over InMemoryTransport. */
async function openSession(store: StateStore, principal: string, options: PrincipalTaskStoreOptions = {}) {
  const server = new McpServer(
    { name: "tasks-test", version: "1.0.0" },
    {
      capabilities: { tasks: TASKS_CAPABILITY },
      taskStore: createPrincipalTaskStore(store, { id: principal }, options),
    },
  );
  const pending: PendingWork[] = [];
  server.experimental.tasks.registerToolTask(
    "echo_later",
    {
      description: "Echoes text once the test finishes the work.",
      inputSchema: { text: z.string() },
      execution: { taskSupport: "optional" },
    },
    {
      createTask: async ({ text }, extra) => {
        const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl });
        const progressToken = extra._meta?.progressToken;
        pending.push({
          taskId: task.taskId,
          finish: (status) =>
            extra.taskStore.storeTaskResult(task.taskId, status, {
              content: [{ type: "text", text: status === "completed" ? text : "it broke" }],
              isError: status === "failed",
            }),
          // After createTask returned, progress goes out as a server-level notification (see the Streamable HTTP note in the report).
          progress: (message) =>
            server.server.notification({
              method: "notifications/progress",
              params: { progressToken: progressToken ?? "", progress: 1, message },
            }),
        });
        return { task };
      },
      getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
      getTaskResult: async (_args, extra) => (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
    },
  );
  const client = new Client({ name: "tasks-test-client", version: "1.0.0" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  const started = async (): Promise<PendingWork> => {
    for (let attempt = 0; attempt < 200 && pending.length === 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const work = pending.shift();
    if (work === undefined) throw new Error("echo_later never started its work");
    return work;
  };
  return { client, started, close: () => client.close() };
}

type Session = Awaited<ReturnType<typeof openSession>>;

async function rejection(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(McpError);
  return { code: (error as McpError).code, message: (error as McpError).message };
}

describe("createPrincipalTaskStore", () => {
  let dir: string;
  let path: string;
  let store: StateStore;
  const sessions: Session[] = [];
  const session = async (
    principal: string,
    options?: PrincipalTaskStoreOptions,
    on: StateStore = store,
  ): Promise<Session> => {
    const opened = await openSession(on, principal, options);
    sessions.push(opened);
    return opened;
  };
  const createTask = (client: Client, text: string, ttl?: number) =>
    client.request(
      { method: "tools/call", params: { name: "echo_later", arguments: { text } } },
      CreateTaskResultSchema,
      { task: ttl === undefined ? {} : { ttl } },
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "devhatchery-tasks-"));
    path = join(dir, "state.db");
    store = createSqliteStateStore(path);
  });
  afterEach(async () => {
    for (const opened of sessions.splice(0)) await opened.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a task-augmented call: created working, polled with tasks/get, result from tasks/result, listed", async () => {
    const alice = await session("alice");
    const created = await createTask(alice.client, "hello", 120_000);
    expect(created.task).toMatchObject({ status: "working", ttl: 120_000, pollInterval: 500 });
    expect(created.task.taskId).toMatch(/^[0-9a-f]{32}$/);
    expect(await alice.client.experimental.tasks.getTask(created.task.taskId)).toMatchObject({
      taskId: created.task.taskId,
      status: "working",
    });

    await (await alice.started()).finish("completed");
    expect(await alice.client.experimental.tasks.getTask(created.task.taskId)).toMatchObject({ status: "completed" });
    const result = await alice.client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.content).toEqual([{ type: "text", text: "hello" }]);
    expect((await alice.client.experimental.tasks.listTasks()).tasks.map((task) => [task.taskId, task.status])).toEqual(
      [[created.task.taskId, "completed"]],
    );
  });

  it("streams a task with callToolStream, and stores a failed result the client can still read", async () => {
    const alice = await session("alice", { pollIntervalMs: 100 });
    const stream = alice.client.experimental.tasks.callToolStream(
      { name: "echo_later", arguments: { text: "x" } },
      CallToolResultSchema,
      { task: {} },
    );
    const first = await stream.next();
    expect(first.value).toMatchObject({
      type: "taskCreated",
      task: { status: "working", ttl: 3_600_000, pollInterval: 100 },
    });
    const taskId = first.value && first.value.type === "taskCreated" ? first.value.task.taskId : "";
    await (await alice.started()).finish("failed");
    const rest = [];
    for await (const message of stream) rest.push(message.type);
    expect(rest.at(-1)).toBe("error");
    expect(await alice.client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)).toMatchObject({
      isError: true,
      content: [{ type: "text", text: "it broke" }],
    });
  });

  it("answers a plain tools/call of a taskSupport optional tool itself: the SDK creates a task and polls it", async () => {
    const alice = await session("alice", { pollIntervalMs: 100 });
    const progress: Progress[] = [];
    const call = alice.client.callTool({ name: "echo_later", arguments: { text: "plain" } }, CallToolResultSchema, {
      onprogress: (update) => progress.push(update),
    });
    const work = await alice.started();
    await work.progress("halfway");
    await work.finish("completed");
    expect((await call).content).toEqual([{ type: "text", text: "plain" }]);
    expect(progress).toEqual([{ progress: 1, message: "halfway" }]);
    // The task the SDK made for the plain call stays listed until its TTL runs out.
    expect((await alice.client.experimental.tasks.listTasks()).tasks.map((task) => [task.taskId, task.status])).toEqual(
      [[work.taskId, "completed"]],
    );
  });

  it("keeps tasks invisible to another principal on the same store, even by id", async () => {
    const alice = await session("alice");
    const bob = await session("bob");
    const { task } = await createTask(alice.client, "secret");
    // McpError prefixes its message with the code, and the client wraps the reply in another McpError.
    const notFound = {
      code: -32602,
      message: "MCP error -32602: MCP error -32602: Failed to retrieve task: Task not found",
    };
    expect(await rejection(bob.client.experimental.tasks.getTask(task.taskId))).toEqual(notFound);
    expect(await rejection(bob.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema))).toEqual({
      code: -32602,
      message: `MCP error -32602: MCP error -32602: Task not found: ${task.taskId}`,
    });
    expect(await rejection(bob.client.experimental.tasks.cancelTask(task.taskId))).toEqual({
      code: -32602,
      message: `MCP error -32602: MCP error -32602: Task not found: ${task.taskId}`,
    });
    expect((await bob.client.experimental.tasks.listTasks()).tasks).toEqual([]);
    expect(await rejection(bob.client.experimental.tasks.listTasks(task.taskId))).toEqual({
      code: -32602,
      message: `MCP error -32602: MCP error -32602: Failed to list tasks: Cursor "${task.taskId}" is not one of your tasks (it may have expired); list again without a cursor.`,
    });
    expect(await alice.client.experimental.tasks.getTask(task.taskId)).toMatchObject({ status: "working" });
  });

  it("keeps a task across a restart: a new store on the same file and a new server still serve it", async () => {
    const before = await session("alice");
    const { task } = await createTask(before.client, "survives");
    await (await before.started()).finish("completed");
    await before.close();
    store.close();

    store = createSqliteStateStore(path);
    const after = await session("alice");
    expect(await after.client.experimental.tasks.getTask(task.taskId)).toMatchObject({
      status: "completed",
      ttl: 3_600_000,
    });
    expect((await after.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema)).content).toEqual([
      { type: "text", text: "survives" },
    ]);
  });

  it("cancels a working task, refuses a late result, and answers tasks/result with a tool error", async () => {
    const alice = await session("alice");
    const { task } = await createTask(alice.client, "slow");
    const work = await alice.started();
    expect(await alice.client.experimental.tasks.cancelTask(task.taskId)).toMatchObject({
      status: "cancelled",
      statusMessage: "Client cancelled task execution.",
    });
    await expect(work.finish("completed")).rejects.toThrow(
      `Task "${task.taskId}" is already cancelled and cannot become completed; start a new task instead.`,
    );
    expect(await alice.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema)).toMatchObject({
      isError: true,
      content: [
        {
          type: "text",
          text: `Task "${task.taskId}" ended cancelled (Client cancelled task execution.) without a result.`,
        },
      ],
    });
  });

  it("caps the TTL a client asks for, applies the default, and pages tasks/list", async () => {
    const alice = await session("alice", { maxTtlMs: 7_200_000, pageSize: 2 });
    expect((await createTask(alice.client, "long", 30 * 86_400_000)).task.ttl).toBe(7_200_000);
    expect((await createTask(alice.client, "short", 1)).task.ttl).toBe(60_000);
    expect((await createTask(alice.client, "default")).task.ttl).toBe(3_600_000);
    const first = await alice.client.experimental.tasks.listTasks();
    expect(first.tasks).toHaveLength(2);
    expect(first.nextCursor).toBe(first.tasks[1]?.taskId);
    const second = await alice.client.experimental.tasks.listTasks(first.nextCursor);
    expect(second.tasks.map((task) => task.ttl)).toEqual([3_600_000]);
    expect(second.nextCursor).toBeUndefined();
  });
});
