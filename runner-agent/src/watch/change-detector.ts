import { lstat } from "node:fs/promises";
import { entryOf, parentOf, type DirectoryTree, type TreeEntry } from "./directory-tree.js";
import { mapLimited } from "./map-limited.js";
import type { FileChange } from "./watch-record.js";

/** A path a watcher reported; `contentChanged` when any report was a content or metadata change. */
export interface DirtyPath {
  path: string;
  contentChanged: boolean;
}

interface Located {
  path: string;
  entry: TreeEntry;
}

const STAT_CONCURRENCY = 32;

function depthOf(path: string): number {
  return path.split("/").length;
}

/**
 * Compares the dirty paths with what the tree recorded, updates the tree, and pushes the differences to
 * `changes`. A path that disappeared and one that appeared as the same inode are one rename; a new or renamed
 * directory is scanned (and watched) so that what was created in it before its watcher existed is not missed.
 */
export async function detectChanges(
  tree: DirectoryTree,
  dirty: DirtyPath[],
  recursive: boolean,
  changes: FileChange[],
): Promise<void> {
  const probes = await mapLimited(dirty, STAT_CONCURRENCY, async (item) => ({
    ...item,
    stats: await lstat(tree.absolute(item.path)).catch(() => undefined),
  }));
  // Deepest first: a removed directory's contents are matched before the directory and its records go.
  probes.sort((a, b) => depthOf(b.path) - depthOf(a.path));
  const gone: Located[] = [];
  const appeared: Located[] = [];
  for (const { path, contentChanged, stats } of probes) {
    if (!tree.hasDirectory(parentOf(path))) continue;
    const known = tree.entry(path);
    const found = stats && entryOf(stats);
    const present = found && tree.isTracked(path, found.kind === "directory") ? found : undefined;
    // The same entry, or a file replaced by another file (an atomic save): a modification.
    if (
      known &&
      present &&
      known.kind === present.kind &&
      (known.identity === present.identity || known.kind !== "directory")
    ) {
      if (known.identity !== present.identity || contentChanged)
        changes.push({ kind: "modified", path, entry: present.kind });
      tree.setEntry(path, present);
      continue;
    }
    if (known) gone.push({ path, entry: known });
    if (present) appeared.push({ path, entry: present });
  }

  const goneByIdentity = new Map<string, Located>();
  for (const located of gone) goneByIdentity.set(located.entry.identity, located);
  const renames: { from: Located; to: Located }[] = [];
  const created: Located[] = [];
  for (const to of appeared) {
    const from = goneByIdentity.get(to.entry.identity);
    if (from?.entry.kind !== to.entry.kind) {
      created.push(to);
      continue;
    }
    goneByIdentity.delete(to.entry.identity);
    renames.push({ from, to });
  }
  const moved = new Set(renames.map(({ from }) => from));
  const deleted = gone.filter((located) => !moved.has(located));
  for (const { path, entry } of deleted) {
    tree.deleteEntry(path);
    changes.push({ kind: "deleted", path, entry: entry.kind });
  }
  tree.removeBelow(deleted.filter(({ entry }) => entry.kind === "directory").map(({ path }) => path));
  for (const { from, to } of renames) {
    tree.deleteEntry(from.path);
    tree.setEntry(to.path, to.entry);
    changes.push({ kind: "renamed", path: to.path, oldPath: from.path, entry: to.entry.kind });
    if (to.entry.kind !== "directory") continue;
    tree.moveBelow(from.path, to.path);
    // Watch the moved directories again, and report what changed in them while they were unwatched.
    if (recursive) await tree.sync(to.path, changes);
  }
  for (const { path, entry } of created) {
    tree.setEntry(path, entry);
    changes.push({ kind: "created", path, entry: entry.kind });
    if (entry.kind === "directory" && recursive) await tree.sync(path, changes);
  }
}
