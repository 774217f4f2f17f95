import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { AgentError, fromSystemError } from "../errors.js";
import type { Logger } from "../log.js";
import { entryOf } from "./directory-tree.js";
import { IgnoreRules } from "./ignore-rules.js";
import { DEFAULT_IGNORES, resolveWatchOptions, type WatchRequest } from "./watch-options.js";
import { InotifyQueueMonitor, readInotifyQueueCapacity } from "./inotify-queue-monitor.js";
import { Watch } from "./watch.js";
import { WatcherBudget } from "./watcher-budget.js";

/** The agent's limits on watching, across all watches. */
export interface WatchLimits {
  maxWatches: number;
  /** Directories watched at once (one inotify watch each), across all watches. */
  maxWatchedDirectories: number;
  /** Changes one batch may hold; a larger burst is recorded as an event-overflow resync. */
  maxBatchChanges: number;
  /** Changes a watch's history keeps in all, next to its history_limit on events. */
  maxHistoryChanges: number;
  /** Notifications in one read taken as a kernel queue overflow; defaults to fs.inotify.max_queued_events. */
  inotifyQueueCapacity?: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = {
  maxWatches: 64,
  maxWatchedDirectories: 65_536,
  maxBatchChanges: 10_000,
  maxHistoryChanges: 100_000,
};

/** Starts, finds, lists and closes the agent's watches; watches without readers are closed after their idle timeout. */
export class WatchManager {
  private readonly watches = new Map<string, Watch>();
  private readonly inotify: { budget: WatcherBudget; queue: InotifyQueueMonitor };
  private starting = 0;
  private closed = false;

  constructor(
    private readonly workDir: string,
    private readonly log: Logger,
    private readonly limits: WatchLimits = DEFAULT_WATCH_LIMITS,
  ) {
    this.inotify = {
      budget: new WatcherBudget(limits.maxWatchedDirectories),
      queue: new InotifyQueueMonitor(limits.inotifyQueueCapacity ?? readInotifyQueueCapacity()),
    };
  }

  get size(): number {
    return this.watches.size;
  }

  /** Starts watching; resolves once every directory in scope is watched, so nothing after it is missed. */
  async start(request: WatchRequest): Promise<Watch> {
    if (this.closed)
      throw new AgentError(
        "FAILED_PRECONDITION",
        "The runner agent is shutting down; start the watch again once the runner is back.",
      );
    if (this.watches.size + this.starting >= this.limits.maxWatches) {
      throw new AgentError(
        "RESOURCE_EXHAUSTED",
        `The agent's limit of ${this.limits.maxWatches} watches is reached; close watches you no longer need (CloseWatch) or reuse one (ListWatches).`,
      );
    }
    const requested = resolveWatchOptions(request);
    if (request.path.includes("\0")) throw new AgentError("INVALID_ARGUMENT", "Path must not contain NUL bytes.");
    const path = resolve(this.workDir, request.path || ".");
    const target = await stat(path).catch((error: unknown) => {
      throw fromSystemError(error, "watch", path);
    });
    const isDirectory = target.isDirectory();
    // A file is watched alone: what applies to trees does not apply, and its summary says so.
    const options = isDirectory ? requested : { ...requested, recursive: false, ignore: [], gitignore: false };
    const root = isDirectory ? path : dirname(path);
    const defaultIgnores = isDirectory ? DEFAULT_IGNORES : [];
    const watch = new Watch(
      {
        id: `wa_${randomBytes(8).toString("hex")}`,
        path,
        kind: entryOf(target).kind,
        root,
        scope: isDirectory ? { recursive: options.recursive } : { recursive: false, onlyName: basename(path) },
        options,
        rules: new IgnoreRules(root, defaultIgnores, options.ignore, options.gitignore),
        defaultIgnores,
        maxBatchChanges: this.limits.maxBatchChanges,
        maxHistoryChanges: this.limits.maxHistoryChanges,
      },
      this.inotify,
      (idle) =>
        this.remove(idle, "idle", `Watch "${idle.id}" had no reader for ${options.idleTimeoutMs} ms and was closed.`),
      this.log,
    );
    this.starting += 1;
    try {
      await watch.start();
    } finally {
      this.starting -= 1;
    }
    if (this.closed) {
      watch.end("shutdown", "The runner agent is shutting down.");
      throw new AgentError(
        "FAILED_PRECONDITION",
        "The runner agent is shutting down; start the watch again once the runner is back.",
      );
    }
    this.watches.set(watch.id, watch);
    const directories = watch.summary().watchedDirectories;
    this.log.info({ watch: watch.id, path, directories, agentDirectories: this.inotify.budget.inUse }, "watch started");
    return watch;
  }

  get(id: string): Watch {
    const watch = this.watches.get(id);
    if (!watch) {
      throw new AgentError(
        "NOT_FOUND",
        `Watch "${id}" not found; it was closed, closed after being idle, or the agent restarted. List watches with ListWatches or start one with StartWatch.`,
      );
    }
    return watch;
  }

  list(): Watch[] {
    return [...this.watches.values()];
  }

  /** Closes a watch: its readers get the ended record and its id is forgotten. */
  close(id: string): Watch {
    const watch = this.get(id);
    this.remove(watch, "closed", `Watch "${id}" was closed.`);
    return watch;
  }

  /** Ends every watch (readers get a shutdown record) and refuses new ones. */
  closeAll(): void {
    this.closed = true;
    for (const watch of this.watches.values())
      this.remove(
        watch,
        "shutdown",
        "The runner agent is shutting down; start the watch again once the runner is back.",
      );
  }

  private remove(watch: Watch, reason: "closed" | "idle" | "shutdown", message: string): void {
    this.watches.delete(watch.id);
    watch.end(reason, message);
  }
}
