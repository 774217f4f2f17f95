import type { CreateTaskRequestHandlerExtra, ToolTaskHandler } from "@modelcontextprotocol/sdk/experimental/tasks";
import type { CallToolResult, ProgressToken, ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import type { ProgressReporter } from "../progress.js";
import type { ToolDeps } from "../tool-deps.js";
import type { z } from "zod";

/** How long a spawn task is kept when the client asks for no ttl: a day, like idempotency keys. */
const DEFAULT_TASK_TTL_MS = 24 * 60 * 60 * 1000;
/** The poll interval suggested to clients: spawns take about a second. */
const TASK_POLL_INTERVAL_MS = 500;

/** A tool's whole work as one call: the result a plain call returns and the task stores; `report` hears progress. */
type Work<Args> = (args: Args, report: ProgressReporter, cancelled: AbortSignal) => Promise<CallToolResult>;

/** How often a running task checks whether its client cancelled it (tasks/cancel marks the stored task). */
const CANCEL_CHECK_MS = 1000;
/** Sends a notification on the session's standalone stream (the task's request is answered already). */
export type SessionNotifier = (notification: ServerNotification) => Promise<void>;

/**
 * A tool's work as an MCP task (runner_spawn, job_run): createTask records a "working" task (in the principal's task
 * store, so it survives a restart and only its principal sees it), starts the work in the background and returns.
 * The request is answered by then, so progress goes into the task's statusMessage (one update per phase) and, when the
 * request carried a progressToken, into notifications/progress on the session's stream (a task keeps its token valid
 * until it ends). The work's result, exactly what a plain call returns, is stored as "completed", or as "failed"
 * (statusMessage = the error text) for an error result.
 */
export function createToolTaskHandler<Input extends z.ZodRawShape>(
  deps: ToolDeps,
  work: Work<z.infer<z.ZodObject<Input>>>,
  notify: SessionNotifier,
  toolName: string,
): ToolTaskHandler<Input> {
  const handler: ToolTaskHandler<z.ZodRawShape> = {
    async createTask(args: unknown, extra: CreateTaskRequestHandlerExtra) {
      const task = await extra.taskStore.createTask({
        ttl: extra.taskRequestedTtl ?? DEFAULT_TASK_TTL_MS,
        pollInterval: TASK_POLL_INTERVAL_MS,
      });
      const log = deps.log.child({ task: task.taskId });
      void runTask(deps, task.taskId, args as z.infer<z.ZodObject<Input>>, work, extra, notify, toolName).catch(
        (error: unknown) => log.warn({ err: error, tool: toolName }, "could not store the result of a task"),
      );
      return { task };
    },
    getTask: (_args, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: async (_args, extra) => (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
  };
  // The SDK types a task handler by its tool's shape; the handler never looks at the arguments' shape itself.
  return handler as unknown as ToolTaskHandler<Input>;
}

async function runTask<Args>(
  deps: ToolDeps,
  taskId: string,
  args: Args,
  work: Work<Args>,
  extra: CreateTaskRequestHandlerExtra,
  notify: SessionNotifier,
  toolName: string,
): Promise<void> {
  // Through the request's task store, so the session also hears notifications/tasks/status; that store saves first and
  // then notifies, so a session gone meanwhile loses only the notification (the fallback below saves the result).
  const status = createStatusReporter(taskId, extra, extra._meta?.progressToken, notify);
  // tasks/cancel only marks the stored task; the work hears of it through `cancelled` (a job then stops, a spawn
  // finishes: its runner is the caller's to remove).
  const cancel = new AbortController();
  const watch = setInterval(() => {
    void deps.taskStore.getTask(taskId).then(
      (task) => {
        if (task?.status === "cancelled") cancel.abort();
      },
      () => undefined,
    );
  }, CANCEL_CHECK_MS);
  let result: CallToolResult;
  try {
    result = await work(args, status, cancel.signal);
  } finally {
    clearInterval(watch);
  }
  await status.flush();
  if (cancel.signal.aborted) return;
  if (result.isError) {
    const first = result.content[0];
    await extra.taskStore
      .updateTaskStatus(taskId, "working", first?.type === "text" ? first.text : `${toolName} failed`)
      .catch(() => undefined);
  }
  const outcome = result.isError ? "failed" : "completed";
  try {
    await extra.taskStore.storeTaskResult(taskId, outcome, result);
  } catch (error) {
    const task = await deps.taskStore.getTask(taskId);
    if (task?.status !== "working") throw error;
    await deps.taskStore.storeTaskResult(taskId, outcome, result);
  }
}

/** How often a task's statusMessage follows the progress of one phase (a pull) at most; each store write costs. */
const STATUS_UPDATE_MS = 1000;

/**
 * A progress reporter that writes each new phase ("pulling", "creating", …) into the task's statusMessage and, with a
 * progress token, sends every report as notifications/progress (increasing progress only, as the protocol asks).
 */
function createStatusReporter(
  taskId: string,
  extra: CreateTaskRequestHandlerExtra,
  progressToken: ProgressToken | undefined,
  notify: SessionNotifier,
): ProgressReporter {
  let lastPhase = "";
  let lastStatusAt = 0;
  let lastProgress = -1;
  let queue = Promise.resolve();
  const report = (progress: number, message: string): void => {
    if (progressToken !== undefined && progress > lastProgress) {
      lastProgress = progress;
      queue = queue
        .then(() =>
          notify({ method: "notifications/progress", params: { progressToken, progress, total: 100, message } }),
        )
        .catch(() => undefined);
    }
    // A new phase always; within a phase (a pull's percentage), at most once per STATUS_UPDATE_MS.
    const phase = message.split(":")[0] ?? message;
    const now = Date.now();
    if (phase === lastPhase && (message === phase || now - lastStatusAt < STATUS_UPDATE_MS)) return;
    lastPhase = phase;
    lastStatusAt = now;
    queue = queue.then(() => extra.taskStore.updateTaskStatus(taskId, "working", message)).catch(() => undefined);
  };
  return Object.assign(report, { flush: () => queue });
}
