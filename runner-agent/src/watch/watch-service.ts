import { join } from "node:path";
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import { FileType } from "@devhatchery/proto/agent/v1/fs";
import {
  ChangeKind,
  ResyncReason,
  WatchEndReason,
  WatchState,
  type Change,
  type StreamChangesRequest,
  type WatchEvent,
  type WatchInfo,
  type WatchServiceServer,
} from "@devhatchery/proto/agent/v1/watch";
import { AgentError, toGrpcError } from "../errors.js";
import type { Logger } from "../log.js";
import type { WatchSummary } from "./watch.js";
import type { WatchManager } from "./watch-manager.js";
import { boundedOption } from "./watch-options.js";
import type {
  EntryKind,
  FileChange,
  ReaderRecord,
  ResyncReason as Resync,
  WatchEndReason as EndReason,
} from "./watch-record.js";

const FILE_TYPE: Record<EntryKind, FileType> = {
  file: FileType.FILE_TYPE_FILE,
  directory: FileType.FILE_TYPE_DIRECTORY,
  symlink: FileType.FILE_TYPE_SYMLINK,
  other: FileType.FILE_TYPE_OTHER,
};

const CHANGE_KIND: Record<FileChange["kind"], ChangeKind> = {
  created: ChangeKind.CHANGE_KIND_CREATED,
  modified: ChangeKind.CHANGE_KIND_MODIFIED,
  deleted: ChangeKind.CHANGE_KIND_DELETED,
  renamed: ChangeKind.CHANGE_KIND_RENAMED,
};

const RESYNC_REASON: Record<Resync, ResyncReason> = {
  history_overflow: ResyncReason.RESYNC_REASON_HISTORY_OVERFLOW,
  event_overflow: ResyncReason.RESYNC_REASON_EVENT_OVERFLOW,
  queue_overflow: ResyncReason.RESYNC_REASON_QUEUE_OVERFLOW,
  watcher_error: ResyncReason.RESYNC_REASON_WATCHER_ERROR,
};

const END_REASON: Record<EndReason, WatchEndReason> = {
  closed: WatchEndReason.WATCH_END_REASON_CLOSED,
  idle: WatchEndReason.WATCH_END_REASON_IDLE,
  root_deleted: WatchEndReason.WATCH_END_REASON_ROOT_DELETED,
  watch_limit: WatchEndReason.WATCH_END_REASON_WATCH_LIMIT,
  failed: WatchEndReason.WATCH_END_REASON_FAILED,
  shutdown: WatchEndReason.WATCH_END_REASON_SHUTDOWN,
};

function toChange(change: FileChange, root: string): Change {
  const absolute = (path: string): string => (path ? join(root, path) : root);
  return {
    kind: CHANGE_KIND[change.kind],
    path: change.path,
    absolutePath: absolute(change.path),
    type: FILE_TYPE[change.entry],
    oldPath: change.oldPath ?? "",
    oldAbsolutePath: change.oldPath !== undefined ? absolute(change.oldPath) : "",
  };
}

function toEvent(record: ReaderRecord, root: string): WatchEvent {
  const position = { cursor: record.cursor, timeMs: record.timeMs };
  switch (record.type) {
    case "changes":
      return {
        ...position,
        event: { $case: "changes", value: { changes: record.changes.map((change) => toChange(change, root)) } },
      };
    case "resync":
      return {
        ...position,
        event: { $case: "resync", value: { reason: RESYNC_REASON[record.reason], message: record.message } },
      };
    case "ended":
      return {
        ...position,
        event: { $case: "ended", value: { reason: END_REASON[record.reason], message: record.message } },
      };
    case "keepalive":
      return { ...position, event: { $case: "keepalive", value: {} } };
  }
}

function toInfo(watch: WatchSummary): WatchInfo {
  const { options } = watch;
  return {
    watchId: watch.id,
    path: watch.path,
    type: FILE_TYPE[watch.kind],
    root: watch.root,
    recursive: options.recursive,
    ignore: options.ignore,
    defaultIgnores: [...watch.defaultIgnores],
    gitignore: options.gitignore,
    debounceMs: options.debounceMs,
    historyLimit: options.historyLimit,
    idleTimeoutMs: options.idleTimeoutMs,
    cursor: watch.cursor,
    oldestCursor: watch.oldestCursor,
    watchedDirectories: watch.watchedDirectories,
    readers: watch.readers,
    state: watch.endReason ? WatchState.WATCH_STATE_ENDED : WatchState.WATCH_STATE_ACTIVE,
    endReason: watch.endReason ? END_REASON[watch.endReason] : WatchEndReason.WATCH_END_REASON_UNSPECIFIED,
    createdAtMs: watch.createdAtMs,
  };
}

function unary<Req, Res>(work: (request: Req) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => work(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toGrpcError(error)),
      );
  };
}

/** The gRPC adapter for WatchService. */
export function createWatchService(watches: WatchManager, log: Logger): WatchServiceServer {
  return {
    startWatch: unary(async (request) => ({ watch: toInfo((await watches.start(request)).summary()) })),
    streamChanges(call: ServerWritableStream<StreamChangesRequest, WatchEvent>): void {
      const { watchId, afterCursor, keepaliveMs } = call.request;
      try {
        const watch = watches.get(watchId);
        const keepalive = boundedOption("keepalive_ms", keepaliveMs, { defaultValue: 15_000, min: 100, max: 300_000 });
        let finished = false;
        const attachment = watch.attach(afterCursor, keepalive, {
          write(record) {
            if (finished) return true;
            const more = call.write(toEvent(record, watch.spec.root));
            if (record.type !== "ended") return more;
            finished = true;
            // The watch's last record: end the call once attach() has returned the attachment to detach.
            process.nextTick(() => {
              attachment.detach();
              if (record.reason === "watch_limit")
                call.emit("error", toGrpcError(new AgentError("RESOURCE_EXHAUSTED", record.message)));
              else call.end();
            });
            return more;
          },
        });
        log.debug({ watch: watchId, afterCursor }, "watch reader attached");
        call.on("drain", () => attachment.resume());
        call.on("cancelled", () => {
          attachment.detach();
          log.debug({ watch: watchId }, "watch reader detached");
        });
      } catch (error) {
        call.emit("error", toGrpcError(error));
      }
    },
    readChanges: unary(async ({ watchId, afterCursor, waitMs, maxEvents }) => {
      const watch = watches.get(watchId);
      const wait = boundedOption("wait_ms", waitMs, { defaultValue: 0, max: 60_000 });
      const max = boundedOption("max_events", maxEvents, { defaultValue: 100, max: 1000 });
      const { records, nextCursor, hasMore } = await watch.read(afterCursor, wait, max);
      return { events: records.map((record) => toEvent(record, watch.spec.root)), nextCursor, hasMore };
    }),
    listWatches: unary(() => ({ watches: watches.list().map((watch) => toInfo(watch.summary())) })),
    closeWatch: unary(({ watchId }) => ({ watch: toInfo(watches.close(watchId).summary()) })),
  };
}
