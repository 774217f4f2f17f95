import type { FileKind } from "./file-info.js";

/** A path to watch and how: recursively or not, what to ignore, and the agent's limits (0 or absent: its defaults). */
export interface WatchRequest {
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

/** Why a watch ended. */
export type WatchEndReason = "closed" | "idle" | "root_deleted" | "watch_limit" | "shutdown" | "failed" | "unknown";

/** A watch the agent holds. */
export interface WatchInfo {
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
  endReason: WatchEndReason | undefined;
}

/** One change to an entry under a watched path. */
export interface WatchChange {
  kind: "created" | "modified" | "deleted" | "renamed";
  /** Relative to the watch's root. */
  path: string;
  absolutePath: string;
  type: FileKind;
  /** For renames: where the entry was before. */
  oldAbsolutePath: string | undefined;
}

/** Why changes were lost and the tree must be listed again. */
export type ResyncReason = "history_overflow" | "event_overflow" | "watcher_error" | "queue_overflow" | "unknown";

/** What a watch reports at a cursor: changes, lost changes (resync), or its end. */
export type WatchEvent =
  | { type: "changes"; cursor: number; timeMs: number; changes: WatchChange[] }
  | { type: "resync"; cursor: number; timeMs: number; reason: ResyncReason; message: string }
  | { type: "ended"; cursor: number; timeMs: number; reason: WatchEndReason; message: string };

/** Events read after a cursor, where to continue, and whether more are waiting. */
export interface WatchChanges {
  events: WatchEvent[];
  nextCursor: number;
  hasMore: boolean;
}
