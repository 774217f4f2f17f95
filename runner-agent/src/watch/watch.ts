import { AgentError } from "../errors.js";
import type { Logger } from "../log.js";
import type { TreeScope } from "./directory-tree.js";
import type { IgnoreRules } from "./ignore-rules.js";
import { WatchHistory } from "./watch-history.js";
import type { WatchOptions } from "./watch-options.js";
import { WatchReader, type RecordSink } from "./watch-reader.js";
import type { EntryKind, NewRecord, WatchEndReason, WatchRecord } from "./watch-record.js";
import { TreeWatcher } from "./tree-watcher.js";
import type { WatcherBudget } from "./watcher-budget.js";
import type { InotifyQueueMonitor } from "./inotify-queue-monitor.js";

export interface WatchSpec {
  id: string;
  /** The watched path, absolute. */
  path: string;
  kind: EntryKind;
  /** The directory change paths are relative to. */
  root: string;
  scope: TreeScope;
  options: WatchOptions;
  rules: IgnoreRules;
  defaultIgnores: readonly string[];
  maxBatchChanges: number;
  maxHistoryChanges: number;
}

/** A watch as listed: its settings and where it stands. */
export interface WatchSummary extends Omit<WatchSpec, "scope" | "rules" | "maxBatchChanges" | "maxHistoryChanges"> {
  cursor: number;
  oldestCursor: number;
  watchedDirectories: number;
  readers: number;
  endReason?: WatchEndReason;
  createdAtMs: number;
}

/** A reader attached to a watch; `resume` after the sink asked to pause, `detach` when the reader goes away. */
export interface WatchAttachment {
  resume(): void;
  detach(): void;
}

export interface ReadResult {
  records: WatchRecord[];
  nextCursor: number;
  hasMore: boolean;
}

/**
 * One watch: a tree watcher feeding a bounded history that any number of readers follow by cursor. It outlives
 * its readers; `onIdle` is called once it has had none for its idle timeout.
 */
export class Watch {
  readonly createdAtMs = Date.now();
  private readonly history: WatchHistory;
  private readonly tree: TreeWatcher;
  private readonly readers = new Set<WatchReader>();
  private readonly waiters = new Set<() => void>();
  private polls = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private endReason: WatchEndReason | undefined;
  private forgotten = false;

  constructor(
    readonly spec: WatchSpec,
    inotify: { budget: WatcherBudget; queue: InotifyQueueMonitor },
    private readonly onIdle: (watch: Watch) => void,
    private readonly log: Logger,
  ) {
    this.history = new WatchHistory(spec.options.historyLimit, spec.maxHistoryChanges);
    const { root, scope, rules, options, maxBatchChanges } = spec;
    this.tree = new TreeWatcher(
      { root, scope, rules, debounceMs: options.debounceMs, maxBatchChanges },
      inotify.budget,
      inotify.queue,
      {
        onChanges: (changes) => this.append({ type: "changes", changes }),
        onResync: (reason, message) => {
          this.log.warn({ watch: spec.id, reason }, "watch resync");
          this.append({ type: "resync", reason, message });
        },
        onEnd: (reason, message) => this.end(reason, message),
      },
      log,
    );
  }

  get id(): string {
    return this.spec.id;
  }

  async start(): Promise<void> {
    await this.tree.start();
    this.armIdle();
  }

  /** Follows the watch from `afterCursor` (undefined: from now on) with keepalives after `keepaliveMs` of quiet. */
  attach(afterCursor: number | undefined, keepaliveMs: number, sink: RecordSink): WatchAttachment {
    // "From now on" on an ended watch still gets the ended record, so the reader learns there is nothing to follow.
    const cursor = afterCursor ?? (this.endReason ? this.history.cursor - 1 : this.history.cursor);
    this.checkCursor(cursor);
    const reader = new WatchReader(cursor, this.history, sink, keepaliveMs);
    this.readers.add(reader);
    clearTimeout(this.idleTimer);
    reader.pump();
    return {
      resume: () => reader.resume(),
      detach: () => {
        reader.close();
        if (this.readers.delete(reader)) this.armIdle();
      },
    };
  }

  /** Returns up to `maxRecords` records after `afterCursor`, waiting up to `waitMs` for the first one. */
  async read(afterCursor: number, waitMs: number, maxRecords: number): Promise<ReadResult> {
    this.checkCursor(afterCursor);
    this.polls += 1;
    clearTimeout(this.idleTimer);
    try {
      if (waitMs > 0 && !this.endReason && !this.history.next(afterCursor)) await this.nextAppend(waitMs);
    } finally {
      this.polls -= 1;
      this.armIdle();
    }
    const records: WatchRecord[] = [];
    let cursor = afterCursor;
    for (
      let record = this.history.next(cursor);
      record && records.length < maxRecords;
      record = this.history.next(cursor)
    ) {
      records.push(record);
      cursor = record.cursor;
    }
    return { records, nextCursor: cursor, hasMore: this.history.next(cursor) !== undefined };
  }

  /** Stops watching and records why; readers get the ended record and finish. Later calls do nothing. */
  end(reason: WatchEndReason, message: string): void {
    // Closed, reaped or shut down, the watch is forgotten: nothing may reap it again.
    if (reason === "closed" || reason === "idle" || reason === "shutdown") {
      this.forgotten = true;
      clearTimeout(this.idleTimer);
    }
    if (this.endReason) return;
    this.endReason = reason;
    this.tree.stop();
    this.append({ type: "ended", reason, message });
    this.log.info({ watch: this.id, reason }, "watch ended");
  }

  summary(): WatchSummary {
    const {
      scope: _scope,
      rules: _rules,
      maxBatchChanges: _batch,
      maxHistoryChanges: _history,
      ...settings
    } = this.spec;
    return {
      ...settings,
      cursor: this.history.cursor,
      oldestCursor: this.history.oldestCursor,
      watchedDirectories: this.tree.watcherCount,
      readers: this.readers.size,
      ...(this.endReason ? { endReason: this.endReason } : {}),
      createdAtMs: this.createdAtMs,
    };
  }

  private append(record: NewRecord): void {
    this.history.append(record);
    for (const reader of this.readers) reader.pump();
    for (const wake of this.waiters) wake();
  }

  private nextAppend(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      this.waiters.add(wake);
    });
  }

  private checkCursor(cursor: number): void {
    if (cursor > this.history.cursor) {
      throw new AgentError(
        "INVALID_ARGUMENT",
        `Cursor ${cursor} is ahead of watch "${this.id}", whose latest cursor is ${this.history.cursor}; pass a cursor this watch returned, or 0 for everything its history holds.`,
      );
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.readers.size > 0 || this.polls > 0 || this.forgotten) return;
    this.idleTimer = setTimeout(() => this.onIdle(this), this.spec.options.idleTimeoutMs);
  }
}
