import { basename } from "node:path";
import { stat } from "node:fs/promises";
import { AgentError } from "../errors.js";
import type { Logger } from "../log.js";
import { detectChanges, type DirtyPath } from "./change-detector.js";
import { DirectoryTree, entryOf, isGone, parentOf, type TreeScope } from "./directory-tree.js";
import type { IgnoreRules } from "./ignore-rules.js";
import type { InotifyQueueMonitor } from "./inotify-queue-monitor.js";
import type { FileChange, ResyncReason } from "./watch-record.js";
import type { WatcherBudget } from "./watcher-budget.js";

/** Where a tree watcher delivers what it saw. After `onEnd` it has stopped and released its watches. */
export interface TreeListener {
  onChanges(changes: FileChange[]): void;
  onResync(reason: ResyncReason, message: string): void;
  onEnd(reason: "root_deleted" | "watch_limit" | "failed", message: string): void;
}

export interface TreeWatcherOptions {
  root: string;
  scope: TreeScope;
  rules: IgnoreRules;
  debounceMs: number;
  maxBatchChanges: number;
}

/** How much later than its first change a batch is recorded at the latest, in debounce periods. */
const MAX_DELAY_DEBOUNCES = 10;

/**
 * Watches a tree and turns the kernel's notifications into batches: every notification only marks a path dirty;
 * once the tree is quiet for the debounce time, the dirty paths are compared with what the tree held before.
 */
export class TreeWatcher {
  private readonly tree: DirectoryTree;
  private dirty = new Map<string, DirtyPath>();
  private failedDirectories = new Set<string>();
  private rootTouched = false;
  private queueOverflowed = false;
  private unsubscribe: (() => void) | undefined;
  private rootIdentity = "";
  private timer: NodeJS.Timeout | undefined;
  private firstChangeAt = 0;
  private lastChangeAt = 0;
  private flushing = false;
  private stopped = false;

  constructor(
    private readonly options: TreeWatcherOptions,
    budget: WatcherBudget,
    private readonly queue: InotifyQueueMonitor,
    private readonly listener: TreeListener,
    private readonly log: Logger,
  ) {
    this.tree = new DirectoryTree(options.root, options.scope, options.rules, budget, this.directoryEvents(), log);
  }

  get watcherCount(): number {
    return this.tree.watcherCount;
  }

  /** Watches the whole tree; on failure (the inotify limit, a missing root) it releases every watch and throws. */
  async start(): Promise<void> {
    this.unsubscribe = this.queue.subscribe(() => {
      this.queueOverflowed = true;
      this.schedule();
    });
    try {
      this.rootIdentity = entryOf(await stat(this.options.root)).identity;
      await this.options.rules.loadAncestors();
      await this.tree.sync("");
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.tree.close();
  }

  private directoryEvents() {
    return {
      onEvent: (directory: string, eventType: string, name: string | null): void => {
        if (this.stopped) return;
        this.queue.record();
        // A watcher reports its own directory's removal under the directory's name, like a child of that name.
        if (directory === "" && name === basename(this.options.root)) this.rootTouched = true;
        const { onlyName } = this.options.scope;
        // A watcher that cannot name the entry leaves the directory to be scanned again.
        if (name === null) this.failedDirectories.add(directory);
        else if (onlyName === undefined || name === onlyName)
          this.markDirty(directory ? `${directory}/${name}` : name, eventType === "change");
        else if (!this.rootTouched) return;
        this.schedule();
      },
      onError: (directory: string, error: Error): void => {
        this.log.warn({ err: error, directory: this.tree.absolute(directory) }, "directory watcher failed");
        this.failedDirectories.add(directory);
        this.schedule();
      },
    };
  }

  private markDirty(path: string, contentChanged: boolean): void {
    const known = this.dirty.get(path);
    if (known) known.contentChanged ||= contentChanged;
    else this.dirty.set(path, { path, contentChanged });
  }

  private schedule(): void {
    const now = Date.now();
    if (!this.timer) this.firstChangeAt = now;
    this.lastChangeAt = now;
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => this.onTimer(), this.options.debounceMs);
  }

  private onTimer(): void {
    const { debounceMs } = this.options;
    const now = Date.now();
    const quietFor = now - this.lastChangeAt;
    const waitedFor = now - this.firstChangeAt;
    if (quietFor < debounceMs && waitedFor < debounceMs * MAX_DELAY_DEBOUNCES) {
      this.timer = setTimeout(() => this.onTimer(), debounceMs - quietFor);
      return;
    }
    this.timer = undefined;
    this.flushing = true;
    this.flush()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.flushing = false;
        if (
          !this.stopped &&
          (this.dirty.size > 0 || this.failedDirectories.size > 0 || this.rootTouched || this.queueOverflowed)
        )
          this.schedule();
      });
  }

  private async flush(): Promise<void> {
    const dirty = [...this.dirty.values()];
    const failed = [...this.failedDirectories];
    const rootTouched = this.rootTouched;
    const queueOverflowed = this.queueOverflowed;
    this.dirty = new Map();
    this.failedDirectories = new Set();
    this.rootTouched = false;
    this.queueOverflowed = false;
    if (queueOverflowed) return this.recover();

    const changes: FileChange[] = [];
    try {
      await detectChanges(this.tree, dirty, this.options.scope.recursive, changes);
      if (this.stopped) return;
      if (rootTouched && (await this.isRootGone())) return this.endRootDeleted(changes);
      for (const directory of failed) {
        const absolute = this.tree.absolute(directory);
        this.listener.onResync(
          "watcher_error",
          `The watcher of "${absolute}" failed, so changes there may have been missed; re-list "${absolute}". It is watched again.`,
        );
        if (this.tree.hasDirectory(directory)) await this.tree.sync(directory, changes);
      }
      // A changed .gitignore shows or hides entries below its directory: scan it again with the new rules.
      const gitignores = this.options.rules.useGitignore
        ? dirty.filter(({ path }) => basename(path) === ".gitignore")
        : [];
      for (const { path } of gitignores)
        if (this.tree.hasDirectory(parentOf(path))) await this.tree.sync(parentOf(path), changes);
    } finally {
      // What was found before a failure (such as the inotify limit on a new directory) is still true.
      if (!this.stopped) this.record(changes);
    }
  }

  /** After a probable queue overflow the dirty paths are an incomplete account: scan the whole tree again instead. */
  private async recover(): Promise<void> {
    await this.tree.sync("");
    if (this.stopped) return;
    if (await this.isRootGone()) return this.endRootDeleted([]);
    const { root } = this.options;
    this.listener.onResync(
      "queue_overflow",
      `A burst of changes probably overflowed the kernel's inotify queue (fs.inotify.max_queued_events = ${this.queue.capacity}), so changes under "${root}" were likely lost; re-list "${root}". The agent scanned it again and goes on watching.`,
    );
  }

  private record(changes: FileChange[]): void {
    if (changes.length === 0) return;
    if (changes.length > this.options.maxBatchChanges) {
      this.listener.onResync(
        "event_overflow",
        `${changes.length} changes arrived within one batch, more than the limit of ${this.options.maxBatchChanges}; they were not recorded one by one. Re-list "${this.options.root}".`,
      );
      return;
    }
    this.listener.onChanges(changes);
  }

  private async isRootGone(): Promise<boolean> {
    try {
      return entryOf(await stat(this.options.root)).identity !== this.rootIdentity;
    } catch (error) {
      if (isGone(error)) return true;
      throw error;
    }
  }

  private endRootDeleted(changes: FileChange[]): void {
    const { onlyName } = this.options.scope;
    const entry = this.tree.entry(onlyName ?? "");
    if (onlyName === undefined) changes.push({ kind: "deleted", path: "", entry: "directory" });
    else if (entry) changes.push({ kind: "deleted", path: onlyName, entry: entry.kind });
    this.record(changes);
    this.stop();
    const what = onlyName === undefined ? "watched directory" : "directory of the watched file";
    this.listener.onEnd(
      "root_deleted",
      `The ${what} "${this.options.root}" was deleted or moved away; start a new watch once it exists again.`,
    );
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    if (error instanceof AgentError && error.code === "RESOURCE_EXHAUSTED") {
      this.listener.onEnd("watch_limit", error.message);
      return;
    }
    this.log.error({ err: error, root: this.options.root }, "watch failed");
    this.listener.onEnd(
      "failed",
      `Watching "${this.options.root}" failed unexpectedly (see the agent log); re-list it and start a new watch.`,
    );
  }
}
