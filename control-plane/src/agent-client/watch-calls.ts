import { status, type ClientReadableStream } from "@grpc/grpc-js";
import { FileType } from "@devhatchery/proto/agent/v1/fs";
import {
  ChangeKind,
  ResyncReason,
  WatchEndReason,
  WatchState,
  type Change,
  type WatchEvent,
  type WatchInfo,
} from "@devhatchery/proto/agent/v1/watch";
import { FILE_TYPE, type AgentClient } from "./agent-client.js";
import { fromGrpcError } from "./grpc-errors.js";

export interface AgentWatchRequest {
  path: string;
  recursive: boolean;
  ignore: string[];
  gitignore: boolean;
  /** 0: the agent's default (50 ms). */
  debounceMs?: number;
  /** 0: the agent's default (1000 events). */
  historyLimit?: number;
  /** 0: the agent's default (10 minutes). */
  idleTimeoutMs?: number;
}

export type AgentWatchEndReason = "closed" | "idle" | "root_deleted" | "watch_limit" | "shutdown" | "failed" | "unknown";

/** A watch the agent holds, as plain values. */
export interface AgentWatchInfo {
  watchId: string;
  path: string;
  isDirectory: boolean;
  /** The directory change paths are relative to. */
  root: string;
  recursive: boolean;
  ignore: string[];
  defaultIgnores: string[];
  gitignore: boolean;
  historyLimit: number;
  idleTimeoutMs: number;
  /** The latest event's cursor (0 before the first). */
  cursor: number;
  watchedDirectories: number;
  state: "active" | "ended";
  endReason: AgentWatchEndReason | undefined;
}

export interface AgentChange {
  kind: "created" | "modified" | "deleted" | "renamed";
  /** Relative to the watch's root. */
  path: string;
  absolutePath: string;
  type: "file" | "directory" | "symlink" | "other";
  /** For renames: where the entry was before. */
  oldAbsolutePath: string | undefined;
}

export type AgentResyncReason = "history_overflow" | "event_overflow" | "watcher_error" | "queue_overflow" | "unknown";

export type AgentWatchEvent =
  | { type: "changes"; cursor: number; timeMs: number; changes: AgentChange[] }
  | { type: "resync"; cursor: number; timeMs: number; reason: AgentResyncReason; message: string }
  | { type: "ended"; cursor: number; timeMs: number; reason: AgentWatchEndReason; message: string };

/** A StreamChanges call in progress; cancelling it detaches the reader, the watch goes on. */
export interface AgentWatchStream {
  /** Resolves when the stream ends (after the watch's end, or cancel()); rejects with a ControlPlaneError. */
  readonly ended: Promise<void>;
  cancel(): void;
}

const CHANGE_KIND: Record<number, AgentChange["kind"]> = {
  [ChangeKind.CHANGE_KIND_CREATED]: "created",
  [ChangeKind.CHANGE_KIND_MODIFIED]: "modified",
  [ChangeKind.CHANGE_KIND_DELETED]: "deleted",
  [ChangeKind.CHANGE_KIND_RENAMED]: "renamed",
};

const RESYNC_REASON: Record<number, AgentResyncReason> = {
  [ResyncReason.RESYNC_REASON_HISTORY_OVERFLOW]: "history_overflow",
  [ResyncReason.RESYNC_REASON_EVENT_OVERFLOW]: "event_overflow",
  [ResyncReason.RESYNC_REASON_WATCHER_ERROR]: "watcher_error",
  [ResyncReason.RESYNC_REASON_QUEUE_OVERFLOW]: "queue_overflow",
};

const END_REASON: Record<number, AgentWatchEndReason> = {
  [WatchEndReason.WATCH_END_REASON_CLOSED]: "closed",
  [WatchEndReason.WATCH_END_REASON_IDLE]: "idle",
  [WatchEndReason.WATCH_END_REASON_ROOT_DELETED]: "root_deleted",
  [WatchEndReason.WATCH_END_REASON_WATCH_LIMIT]: "watch_limit",
  [WatchEndReason.WATCH_END_REASON_SHUTDOWN]: "shutdown",
  [WatchEndReason.WATCH_END_REASON_FAILED]: "failed",
};

/** Starts a watch in the agent; RESOURCE_EXHAUSTED when the tree needs more inotify watches than allowed. */
export function startWatch(agent: AgentClient, request: AgentWatchRequest): Promise<AgentWatchInfo> {
  const message = {
    path: request.path,
    recursive: request.recursive,
    ignore: request.ignore,
    gitignore: request.gitignore,
    debounceMs: request.debounceMs ?? 0,
    historyLimit: request.historyLimit ?? 0,
    idleTimeoutMs: request.idleTimeoutMs ?? 0,
  };
  return new Promise((resolve, reject) => {
    agent.grpc.watch.startWatch(message, agent.callMetadata(), (error, response) =>
      error ? reject(fromGrpcError(error, agent.runnerId)) : resolve(toWatchInfo(response.watch)),
    );
  });
}

/** The events after `afterCursor`, waiting up to `waitMs` for the first one (long poll). */
export function readChanges(
  agent: AgentClient,
  watchId: string,
  afterCursor: number,
  waitMs: number,
  maxEvents: number,
): Promise<{ events: AgentWatchEvent[]; nextCursor: number; hasMore: boolean }> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + waitMs + 10_000;
    agent.grpc.watch.readChanges({ watchId, afterCursor, waitMs, maxEvents }, agent.callMetadata(), { deadline }, (error, response) =>
      error
        ? reject(fromGrpcError(error, agent.runnerId))
        : resolve({ events: response.events.flatMap(toWatchEvent), nextCursor: response.nextCursor, hasMore: response.hasMore }),
    );
  });
}

/** Closes a watch; its id is forgotten by the agent. */
export function closeWatch(agent: AgentClient, watchId: string): Promise<AgentWatchInfo> {
  return new Promise((resolve, reject) => {
    agent.grpc.watch.closeWatch({ watchId }, agent.callMetadata(), (error, response) =>
      error ? reject(fromGrpcError(error, agent.runnerId)) : resolve(toWatchInfo(response.watch)),
    );
  });
}

/** Follows a watch's events after `afterCursor` (keepalives are not passed on). */
export function streamChanges(agent: AgentClient, watchId: string, afterCursor: number, onEvent: (event: AgentWatchEvent) => void): AgentWatchStream {
  const call: ClientReadableStream<WatchEvent> = agent.grpc.watch.streamChanges({ watchId, afterCursor, keepaliveMs: 0 }, agent.callMetadata());
  let cancelled = false;
  const ended = new Promise<void>((resolve, reject) => {
    call.on("data", (message: WatchEvent) => toWatchEvent(message).forEach(onEvent));
    call.on("error", (error: { code?: number }) => (cancelled && error.code === status.CANCELLED ? resolve() : reject(fromGrpcError(error, agent.runnerId))));
    call.on("end", () => resolve());
  });
  return {
    ended,
    cancel() {
      cancelled = true;
      call.cancel();
    },
  };
}

function toWatchInfo(info: WatchInfo | undefined): AgentWatchInfo {
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
    state: info?.state === WatchState.WATCH_STATE_ENDED ? "ended" : "active",
    endReason: info?.state === WatchState.WATCH_STATE_ENDED ? (END_REASON[info.endReason] ?? "unknown") : undefined,
  };
}

/** Keepalives and unknown events carry nothing for callers: they map to no event. */
function toWatchEvent(message: WatchEvent): AgentWatchEvent[] {
  const { cursor, timeMs, event } = message;
  switch (event?.$case) {
    case "changes":
      return [{ type: "changes", cursor, timeMs, changes: event.value.changes.map(toChange) }];
    case "resync":
      return [{ type: "resync", cursor, timeMs, reason: RESYNC_REASON[event.value.reason] ?? "unknown", message: event.value.message }];
    case "ended":
      return [{ type: "ended", cursor, timeMs, reason: END_REASON[event.value.reason] ?? "unknown", message: event.value.message }];
    default:
      return [];
  }
}

function toChange(change: Change): AgentChange {
  return {
    kind: CHANGE_KIND[change.kind] ?? "modified",
    path: change.path,
    absolutePath: change.absolutePath,
    type: FILE_TYPE[change.type] ?? "other",
    oldAbsolutePath: change.kind === ChangeKind.CHANGE_KIND_RENAMED ? change.oldAbsolutePath : undefined,
  };
}
