import { watch as watchDirectory, type FSWatcher, type Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fromSystemError } from "../errors.js";
import type { Logger } from "../log.js";
import type { IgnoreRules } from "./ignore-rules.js";
import { mapLimited } from "./map-limited.js";
import type { EntryKind, FileChange } from "./watch-record.js";
import { inotifyLimitError, isInotifyLimit, type WatcherBudget } from "./watcher-budget.js";

export interface TreeEntry {
  kind: EntryKind;
  /** The inode and its birth time (0 where the filesystem has none): an inode number alone is reused at once. */
  identity: string;
}

/** Which part of the root directory a watch covers. */
export interface TreeScope {
  recursive: boolean;
  /** Set for a file watch: the one name tracked in the root directory. */
  onlyName?: string;
}

/** Where a directory's watcher reports; `directory` is relative to the root. */
export interface DirectoryEvents {
  onEvent(directory: string, eventType: string, name: string | null): void;
  onError(directory: string, error: Error): void;
}

interface DirectoryNode {
  entries: Map<string, TreeEntry>;
  watcher?: FSWatcher;
}

const SCAN_CONCURRENCY = 8;
const STAT_CONCURRENCY = 32;

export function entryOf(stats: Stats): TreeEntry {
  const kind: EntryKind = stats.isFile()
    ? "file"
    : stats.isDirectory()
      ? "directory"
      : stats.isSymbolicLink()
        ? "symlink"
        : "other";
  return { kind, identity: `${stats.ino}:${stats.birthtimeMs}` };
}

export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function childOf(directory: string, name: string): string {
  return directory ? `${directory}/${name}` : name;
}

/**
 * The watched part of a directory tree: one non-recursive fs.watch per directory and what each directory holds.
 * Ignored directories are never entered, so they cost no inotify watch. Paths are relative to the root.
 */
export class DirectoryTree {
  private readonly nodes = new Map<string, DirectoryNode>();
  private watching = 0;
  private closed = false;

  constructor(
    readonly root: string,
    private readonly scope: TreeScope,
    private readonly rules: IgnoreRules,
    private readonly budget: WatcherBudget,
    private readonly events: DirectoryEvents,
    private readonly log: Logger,
  ) {}

  get watcherCount(): number {
    return this.watching;
  }

  absolute(path: string): string {
    return path ? join(this.root, path) : this.root;
  }

  isTracked(path: string, isDirectory: boolean): boolean {
    if (this.scope.onlyName !== undefined) return path === this.scope.onlyName;
    return !this.rules.isIgnored(this.absolute(path), isDirectory);
  }

  hasDirectory(path: string): boolean {
    return this.nodes.has(path);
  }

  entry(path: string): TreeEntry | undefined {
    return this.nodes.get(parentOf(path))?.entries.get(nameOf(path));
  }

  setEntry(path: string, entry: TreeEntry): void {
    this.nodes.get(parentOf(path))?.entries.set(nameOf(path), entry);
  }

  deleteEntry(path: string): void {
    this.nodes.get(parentOf(path))?.entries.delete(nameOf(path));
  }

  /**
   * Scans `path` and the directories below it: watches them, records their entries, and pushes to `report` how
   * they differ from what was recorded before (nothing is reported when `report` is undefined).
   */
  async sync(path: string, report?: FileChange[]): Promise<void> {
    let level = [path];
    while (level.length > 0) {
      level = (await mapLimited(level, SCAN_CONCURRENCY, (directory) => this.syncDirectory(directory, report))).flat();
    }
  }

  /** Stops watching the directories `paths` and every directory below them and forgets what they held. */
  removeBelow(paths: readonly string[]): void {
    if (paths.length === 0) return;
    // One pass for all of them: a large tree removed at once costs its size times its depth, not its size squared.
    const removed = new Set(paths);
    for (const [key, node] of this.nodes) {
      for (let path = key; path !== ""; path = parentOf(path)) {
        if (!removed.has(path)) continue;
        this.unwatch(node);
        this.nodes.delete(key);
        break;
      }
    }
    for (const path of paths) this.rules.forgetBelow(this.absolute(path));
  }

  /** Re-keys a renamed directory and those below it; their watchers are closed until the next sync of `to`. */
  moveBelow(from: string, to: string): void {
    const moved: [string, DirectoryNode][] = [];
    for (const [key, node] of this.nodes) {
      if (key !== from && !key.startsWith(`${from}/`)) continue;
      this.unwatch(node);
      this.nodes.delete(key);
      moved.push([to + key.slice(from.length), node]);
    }
    for (const [key, node] of moved) this.nodes.set(key, node);
    this.rules.forgetBelow(this.absolute(from));
  }

  close(): void {
    this.closed = true;
    for (const node of this.nodes.values()) this.unwatch(node);
    this.nodes.clear();
  }

  private async syncDirectory(path: string, report: FileChange[] | undefined): Promise<string[]> {
    // Scans still in flight when the tree closes (a failed start) must not watch anything more.
    if (this.closed) return [];
    let node = this.nodes.get(path);
    if (!node) this.nodes.set(path, (node = { entries: new Map() }));
    this.watch(path, node);
    const directory = this.absolute(path);
    let names: string[];
    try {
      names = await readdir(directory);
    } catch (error) {
      // A directory removed meanwhile is reported by its parent's watcher; anything else leaves it as it was.
      if (!isGone(error)) this.log.warn({ err: error, directory }, "cannot list a watched directory");
      return [];
    }
    if (this.scope.onlyName !== undefined) names = names.filter((name) => name === this.scope.onlyName);
    else await this.rules.loadGitignore(directory, names.includes(".gitignore"));
    const found = new Map<string, TreeEntry>();
    await mapLimited(names, STAT_CONCURRENCY, async (name) => {
      const stats = await lstat(join(directory, name)).catch(() => undefined);
      if (stats) found.set(name, entryOf(stats));
    });
    if (this.closed) return [];

    const subdirectories: string[] = [];
    const removed: string[] = [];
    for (const name of new Set([...node.entries.keys(), ...found.keys()])) {
      const child = childOf(path, name);
      const known = node.entries.get(name);
      const present = found.get(name);
      const visible = present && this.isTracked(child, present.kind === "directory") ? present : undefined;
      const descend = visible?.kind === "directory" && this.scope.recursive;
      if (
        known &&
        visible &&
        known.kind === visible.kind &&
        (known.identity === visible.identity || known.kind !== "directory")
      ) {
        if (known.identity !== visible.identity) report?.push({ kind: "modified", path: child, entry: visible.kind });
        node.entries.set(name, visible);
        if (descend) subdirectories.push(child);
        continue;
      }
      if (known) {
        node.entries.delete(name);
        if (known.kind === "directory") removed.push(child);
        // Still there but ignored now (a .gitignore changed): it leaves the watch's view without being deleted.
        if (!present || visible) report?.push({ kind: "deleted", path: child, entry: known.kind });
      }
      if (visible) {
        node.entries.set(name, visible);
        report?.push({ kind: "created", path: child, entry: visible.kind });
        if (descend) subdirectories.push(child);
      }
    }
    this.removeBelow(removed);
    return subdirectories;
  }

  private watch(path: string, node: DirectoryNode): void {
    if (node.watcher || (path !== "" && !this.scope.recursive)) return;
    const directory = this.absolute(path);
    this.budget.acquire(directory);
    try {
      node.watcher = watchDirectory(directory, { persistent: false }, (eventType, name) =>
        this.events.onEvent(path, eventType, name),
      );
    } catch (error) {
      this.budget.release();
      if (isInotifyLimit(error)) throw inotifyLimitError(error, directory);
      if (path === "") throw fromSystemError(error, "watch", directory);
      // Removed meanwhile (its parent's watcher reports that) or unreadable: the rest of the tree is still watched.
      if (!isGone(error)) this.log.warn({ err: error, directory }, "cannot watch a directory");
      return;
    }
    this.watching += 1;
    node.watcher.on("error", (error: Error) => this.events.onError(path, error));
  }

  private unwatch(node: DirectoryNode): void {
    if (!node.watcher) return;
    node.watcher.close();
    node.watcher = undefined;
    this.watching -= 1;
    this.budget.release();
  }
}
