/** Where an MCP task is: the MCP task statuses, which the domain keeps as they are. */
export type TaskStatus = "working" | "input_required" | "completed" | "failed" | "cancelled";

/** One long-running request (an MCP task) as the control plane keeps it for its principal. */
export interface TaskEntry {
  taskId: string;
  principal: string;
  status: TaskStatus;
  statusMessage: string | undefined;
  /** The JSON-serialisable MCP request that created the task, and the result once there is one. */
  request: unknown;
  result: unknown;
  createdAt: string;
  lastUpdatedAt: string;
  /** Milliseconds the task is kept after creation; null keeps it until removed. */
  ttlMs: number | null;
  pollIntervalMs: number | undefined;
}

export interface TaskEntryUpdate {
  status?: TaskStatus;
  statusMessage?: string | undefined;
  result?: unknown;
  lastUpdatedAt: string;
}

/**
 * The domain's record of tasks, one principal's at a time: the state store keeps it (it satisfies this interface),
 * and mcp/ reaches it through here, never through store/ directly.
 */
export interface TaskLedger {
  createTask(task: TaskEntry): void;
  getTask(principal: string, taskId: string): TaskEntry | undefined;
  updateTask(principal: string, taskId: string, update: TaskEntryUpdate): boolean;
  listTasks(principal: string, options: { afterTaskId?: string; limit: number }): TaskEntry[];
}
