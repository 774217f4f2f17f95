import { FileType } from "@devhatchery/proto/agent/v1/fs";
import {
  ChangeKind,
  ResyncReason as ProtoResyncReason,
  WatchEndReason as ProtoWatchEndReason,
  WatchState,
  type Change,
  type WatchEvent as ProtoWatchEvent,
  type WatchInfo as ProtoWatchInfo,
} from "@devhatchery/proto/agent/v1/watch";
import { FILE_KIND } from "./file-info.js";
import type { ResyncReason, WatchChange, WatchEndReason, WatchEvent, WatchInfo } from "./watch-info.js";

const CHANGE_KIND: Record<number, WatchChange["kind"]> = {
  [ChangeKind.CHANGE_KIND_CREATED]: "created",
  [ChangeKind.CHANGE_KIND_MODIFIED]: "modified",
  [ChangeKind.CHANGE_KIND_DELETED]: "deleted",
  [ChangeKind.CHANGE_KIND_RENAMED]: "renamed",
};

const RESYNC_REASON: Record<number, ResyncReason> = {
  [ProtoResyncReason.RESYNC_REASON_HISTORY_OVERFLOW]: "history_overflow",
  [ProtoResyncReason.RESYNC_REASON_EVENT_OVERFLOW]: "event_overflow",
  [ProtoResyncReason.RESYNC_REASON_WATCHER_ERROR]: "watcher_error",
  [ProtoResyncReason.RESYNC_REASON_QUEUE_OVERFLOW]: "queue_overflow",
};

const END_REASON: Record<number, WatchEndReason> = {
  [ProtoWatchEndReason.WATCH_END_REASON_CLOSED]: "closed",
  [ProtoWatchEndReason.WATCH_END_REASON_IDLE]: "idle",
  [ProtoWatchEndReason.WATCH_END_REASON_ROOT_DELETED]: "root_deleted",
  [ProtoWatchEndReason.WATCH_END_REASON_WATCH_LIMIT]: "watch_limit",
  [ProtoWatchEndReason.WATCH_END_REASON_SHUTDOWN]: "shutdown",
  [ProtoWatchEndReason.WATCH_END_REASON_FAILED]: "failed",
};

/** A proto WatchInfo as the domain sees it. */
export function toWatchInfo(info: ProtoWatchInfo | undefined): WatchInfo {
  const ended = info?.state === WatchState.WATCH_STATE_ENDED;
  return {
    watchId: info?.watchId ?? "",
    path: info?.path ?? "",
    isDirectory: info?.type === FileType.FILE_TYPE_DIRECTORY,
    root: info?.root ?? "",
    recursive: info?.recursive ?? false,
    ignore: info?.ignore ?? [],
    defaultIgnores: info?.defaultIgnores ?? [],
    gitignore: info?.gitignore ?? false,
    historyLimit: info?.historyLimit ?? 0,
    idleTimeoutMs: info?.idleTimeoutMs ?? 0,
    cursor: info?.cursor ?? 0,
    watchedDirectories: info?.watchedDirectories ?? 0,
    state: ended ? "ended" : "active",
    endReason: ended ? (END_REASON[info.endReason] ?? "unknown") : undefined,
  };
}

/** A proto watch event as the domain sees it; keepalives and unknown events carry nothing for callers and map to none. */
export function toWatchEvents(message: ProtoWatchEvent): WatchEvent[] {
  const { cursor, timeMs, event } = message;
  switch (event?.$case) {
    case "changes":
      return [{ type: "changes", cursor, timeMs, changes: event.value.changes.map(toWatchChange) }];
    case "resync":
      return [
        {
          type: "resync",
          cursor,
          timeMs,
          reason: RESYNC_REASON[event.value.reason] ?? "unknown",
          message: event.value.message,
        },
      ];
    case "ended":
      return [
        {
          type: "ended",
          cursor,
          timeMs,
          reason: END_REASON[event.value.reason] ?? "unknown",
          message: event.value.message,
        },
      ];
    default:
      return [];
  }
}

function toWatchChange(change: Change): WatchChange {
  return {
    kind: CHANGE_KIND[change.kind] ?? "modified",
    path: change.path,
    absolutePath: change.absolutePath,
    type: FILE_KIND[change.type] ?? "other",
    oldAbsolutePath: change.kind === ChangeKind.CHANGE_KIND_RENAMED ? change.oldAbsolutePath : undefined,
  };
}
