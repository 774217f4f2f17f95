import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { ControlPlaneError } from "../../errors.js";
import type { WatchEvent } from "../../runners/files/watch-service.js";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const changeSchema = z.object({
  kind: z.enum(["created", "modified", "deleted", "renamed"]),
  path: z.string().describe("Absolute path of the entry (its new path for a rename)."),
  type: z
    .enum(["file", "directory", "symlink", "other"])
    .describe("The entry's type (before the change for a deletion)."),
  old_path: z.string().nullable().describe("For a rename: the absolute path before; otherwise null."),
  cursor: z.number().int().describe("The cursor of the batch this change belongs to."),
});

const resyncSchema = z.object({
  cursor: z.number().int().describe("Changes up to this cursor may be missing."),
  reason: z
    .enum(["history_overflow", "event_overflow", "watcher_error", "queue_overflow", "unknown"])
    .describe(
      "history_overflow: more batches than history_limit happened since your cursor; event_overflow/queue_overflow: too many changes at once; watcher_error: a directory's watcher failed.",
    ),
  message: z.string().describe("What was lost and what to re-list."),
});

type Change = z.infer<typeof changeSchema>;
type Resync = z.infer<typeof resyncSchema>;

const TOOL = {
  title: "Read file changes",
  description:
    "Read the changes a watch (from fs_watch) recorded after a cursor, waiting up to wait_ms for the first one. Pass next_cursor back as cursor next time: " +
    "nothing is lost in between. Losses are never silent: when changes could not be recorded one by one (too many at once) or were dropped from the history " +
    "(too many batches since your cursor), resync_required is true and `resyncs` says what to re-list (fs_list) before going on. " +
    "`ended` is set once the watch stopped (its directory was deleted, or it was idle 10 minutes); start a new one with fs_watch.",
  inputSchema: z.object({
    runner: runnerArg,
    watch_id: z.string().min(1).describe("The watch_id returned by fs_watch."),
    cursor: z
      .number()
      .int()
      .min(0)
      .describe(
        "Return changes after this cursor: the cursor from fs_watch, or next_cursor from the previous fs_changes. 0 returns everything the history still holds.",
      ),
    wait_ms: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(0)
      .describe(
        "Wait up to this long for a first change when there is none yet (0 to 60000, default 0: return at once).",
      ),
    max_events: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe("Most batches to return (default 100); has_more says when more are waiting."),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    changes: z.array(changeSchema).describe("Changes in the order they were recorded, one per path per batch."),
    resync_required: z
      .boolean()
      .describe("True when changes were lost: re-list what `resyncs` names, then continue from next_cursor."),
    resyncs: z.array(resyncSchema),
    ended: z
      .object({ reason: z.string(), message: z.string() })
      .nullable()
      .describe("Set when the watch ended; no more changes will come."),
    next_cursor: z.number().int().describe("Pass this as cursor to the next fs_changes call."),
    has_more: z.boolean().describe("More changes are waiting after next_cursor; call again at once."),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerFsChangesTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_changes", TOOL, async ({ runner, watch_id, cursor, wait_ms, max_events }) => {
    const target = await canonicalRunner(deps, runner);
    deps.sessionWatches.used(target.id, watch_id);
    const read = await deps.watches
      .changes(deps.principal, target.id, watch_id, cursor, wait_ms, max_events)
      .catch((error: unknown) => {
        if (error instanceof ControlPlaneError && error.code === "NOT_FOUND")
          deps.sessionWatches.forget(target.id, watch_id);
        throw error;
      });
    const { changes, resyncs, ended } = flatten(read.events);
    const structured = {
      runner_id: target.id,
      changes,
      resync_required: resyncs.length > 0,
      resyncs,
      ended,
      next_cursor: read.nextCursor,
      has_more: read.hasMore,
    };
    return toolSuccess(structured, withRunnerNote(target, render(structured)));
  });
}

function flatten(events: WatchEvent[]): {
  changes: Change[];
  resyncs: Resync[];
  ended: { reason: string; message: string } | null;
} {
  const changes: Change[] = [];
  const resyncs: Resync[] = [];
  let ended: { reason: string; message: string } | null = null;
  for (const event of events) {
    if (event.type === "changes") {
      for (const change of event.changes) {
        changes.push({
          kind: change.kind,
          path: change.absolutePath,
          type: change.type,
          old_path: change.oldAbsolutePath ?? null,
          cursor: event.cursor,
        });
      }
    } else if (event.type === "resync") {
      resyncs.push({ cursor: event.cursor, reason: event.reason, message: event.message });
    } else {
      ended = { reason: event.reason, message: event.message };
    }
  }
  return { changes, resyncs, ended };
}

function render(result: {
  changes: Change[];
  resyncs: Resync[];
  ended: { reason: string; message: string } | null;
  next_cursor: number;
  has_more: boolean;
}): string {
  const lines = [
    ...result.resyncs.map((resync) => `RESYNC REQUIRED (${resync.reason}): ${resync.message}`),
    ...result.changes.map(
      (change) => `${change.kind} ${change.type} ${change.old_path ? `${change.old_path} -> ` : ""}${change.path}`,
    ),
    ...(result.ended ? [`watch ended (${result.ended.reason}): ${result.ended.message}`] : []),
  ];
  const summary = `${result.changes.length} changes; next_cursor ${result.next_cursor}${result.has_more ? " (more waiting)" : ""}`;
  return lines.length > 0 ? `${lines.join("\n")}\n${summary}` : `No changes; next_cursor ${result.next_cursor}`;
}
