export type EntryKind = "file" | "directory" | "symlink" | "other";

export type ChangeKind = "created" | "modified" | "deleted" | "renamed";

/** One change in a batch; paths are relative to the watch's root and "/"-separated ("" is the root itself). */
export interface FileChange {
  kind: ChangeKind;
  path: string;
  entry: EntryKind;
  /** Set for renames: the path before. */
  oldPath?: string;
}

export type ResyncReason = "history_overflow" | "event_overflow" | "queue_overflow" | "watcher_error";

export type WatchEndReason = "closed" | "idle" | "root_deleted" | "watch_limit" | "failed" | "shutdown";

/** An event in a watch's history, numbered by the watch's monotonic cursor. */
export type WatchRecord =
  | { type: "changes"; cursor: number; timeMs: number; changes: FileChange[] }
  | { type: "resync"; cursor: number; timeMs: number; reason: ResyncReason; message: string }
  | { type: "ended"; cursor: number; timeMs: number; reason: WatchEndReason; message: string };

/** What a reader receives: the history's records plus keepalives carrying the reader's current cursor. */
export type ReaderRecord = WatchRecord | { type: "keepalive"; cursor: number; timeMs: number };

type WithoutPosition<T> = T extends unknown ? Omit<T, "cursor" | "timeMs"> : never;

/** A record before the history numbers and timestamps it. */
export type NewRecord = WithoutPosition<WatchRecord>;
