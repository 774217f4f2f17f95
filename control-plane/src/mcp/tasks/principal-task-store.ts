import { randomBytes } from "node:crypto";
import { isTerminal, type CreateTaskOptions, type TaskStore } from "@modelcontextprotocol/sdk/experimental/tasks";
import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type Request,
  type RequestId,
  type Result,
  type Task,
} from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "../../auth/principal.js";
import type { TaskLedger, TaskRecord } from "../../runners/task-ledger.js";

export interface PrincipalTaskStoreOptions {
  /** Kept this long when the client asks for no TTL. Default 1 h. */
  defaultTtlMs?: number;
  /** Longer (or unlimited, null) TTLs are cut to this. Default 24 h. */
  maxTtlMs?: number;
  /** Suggested to clients between tasks/get polls, unless the tool asks for another. Default 500 ms. */
  pollIntervalMs?: number;
  /** Tasks per tasks/list page. Default 50. */
  pageSize?: number;
}

const MIN_TTL_MS = 60_000;
const MIN_POLL_INTERVAL_MS = 100;

/**
 * The MCP SDK's TaskStore for one principal's sessions, kept in the task ledger (the state store): tasks survive
 * restarts and new sessions and are invisible to other principals. The SDK's sessionId arguments are ignored on
 * purpose.
 * Task ids are 128 random bits; only the method and tool name of the creating request are kept (arguments may hold
 * secrets such as env values).
 */
export function createPrincipalTaskStore(
  ledger: TaskLedger,
  principal: Principal,
  options: PrincipalTaskStoreOptions = {},
): TaskStore {
  const owner = principal.id;
  const maxTtlMs = options.maxTtlMs ?? 24 * 3_600_000;
  const defaultTtlMs = Math.min(options.defaultTtlMs ?? 3_600_000, maxTtlMs);
  const pageSize = options.pageSize ?? 50;

  const find = (taskId: string): TaskRecord => {
    const record = ledger.getTask(owner, taskId);
    if (record === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Task "${taskId}" not found for this principal (or it expired); list your tasks with tasks/list.`,
      );
    }
    return record;
  };
  const findOpen = (taskId: string, next: Task["status"]): TaskRecord => {
    const record = find(taskId);
    if (isTerminal(record.status)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Task "${taskId}" is already ${record.status} and cannot become ${next}; start a new task instead.`,
      );
    }
    return record;
  };

  return {
    async createTask(params: CreateTaskOptions, _requestId: RequestId, request: Request): Promise<Task> {
      const createdAt = new Date().toISOString();
      const record: TaskRecord = {
        taskId: randomBytes(16).toString("hex"),
        principal: owner,
        status: "working",
        statusMessage: undefined,
        request: {
          method: request.method,
          tool: typeof request.params?.name === "string" ? request.params.name : undefined,
        },
        result: undefined,
        createdAt,
        lastUpdatedAt: createdAt,
        ttlMs: params.ttl === undefined ? defaultTtlMs : clamp(params.ttl ?? maxTtlMs, MIN_TTL_MS, maxTtlMs),
        pollIntervalMs: Math.max(params.pollInterval ?? options.pollIntervalMs ?? 500, MIN_POLL_INTERVAL_MS),
      };
      ledger.createTask(record);
      return toTask(record);
    },

    async getTask(taskId: string): Promise<Task | null> {
      const record = ledger.getTask(owner, taskId);
      return record === undefined ? null : toTask(record);
    },

    async storeTaskResult(taskId: string, status: "completed" | "failed", result: Result): Promise<void> {
      findOpen(taskId, status);
      ledger.updateTask(owner, taskId, { status, result, lastUpdatedAt: new Date().toISOString() });
    },

    async getTaskResult(taskId: string): Promise<Result> {
      const record = find(taskId);
      if (record.result !== undefined) return record.result as Result;
      if (!isTerminal(record.status)) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Task "${taskId}" has no result yet (status "${record.status}"); poll tasks/get until it is completed.`,
        );
      }
      // Cancelled (or failed without a stored result): answer as a tool error the model can read.
      const why = record.statusMessage === undefined ? "" : ` (${record.statusMessage})`;
      const result: CallToolResult = {
        content: [{ type: "text", text: `Task "${taskId}" ended ${record.status}${why} without a result.` }],
        isError: true,
      };
      return result;
    },

    async updateTaskStatus(taskId: string, status: Task["status"], statusMessage?: string): Promise<void> {
      findOpen(taskId, status);
      const update = statusMessage === undefined ? {} : { statusMessage };
      ledger.updateTask(owner, taskId, { status, ...update, lastUpdatedAt: new Date().toISOString() });
    },

    async listTasks(cursor?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
      if (cursor !== undefined && ledger.getTask(owner, cursor) === undefined) {
        throw new Error(
          `Cursor "${cursor}" is not one of your tasks (it may have expired); list again without a cursor.`,
        );
      }
      const page = ledger.listTasks(owner, {
        ...(cursor === undefined ? {} : { afterTaskId: cursor }),
        limit: pageSize + 1,
      });
      const tasks = page.slice(0, pageSize).map(toTask);
      const last = tasks.at(-1);
      return page.length > pageSize && last !== undefined ? { tasks, nextCursor: last.taskId } : { tasks };
    },
  };
}

function toTask(record: TaskRecord): Task {
  return {
    taskId: record.taskId,
    status: record.status,
    ttl: record.ttlMs,
    createdAt: record.createdAt,
    lastUpdatedAt: record.lastUpdatedAt,
    ...(record.pollIntervalMs === undefined ? {} : { pollInterval: record.pollIntervalMs }),
    ...(record.statusMessage === undefined ? {} : { statusMessage: record.statusMessage }),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
