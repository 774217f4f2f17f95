import { lstat, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { AgentError, fromSystemError } from "../errors.js";
import { describePath, toFileEntry, type FileEntry } from "./file-entry.js";

export interface DirectoryListing {
  directory: FileEntry;
  entries: FileEntry[];
  truncated: boolean;
}

export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 100_000;
/** lstat calls in flight at once while listing one directory. */
const STAT_BATCH = 64;

async function entryOf(path: string): Promise<FileEntry | undefined> {
  // An entry may vanish between readdir and lstat; skip it rather than fail the whole listing.
  const stats = await lstat(path, { bigint: true }).catch(() => undefined);
  if (!stats) return undefined;
  return toFileEntry(path, stats, stats.isSymbolicLink() ? await readlink(path).catch(() => "") : "");
}

/**
 * Lists `target` breadth first down to `depth` levels (0 = 1), at most `limit` entries (0 = the default), sorted
 * by name within each directory. Symlinks are listed, never followed; unreadable subdirectories list as empty.
 */
export async function listDirectory(target: string, depth: number, limit: number): Promise<DirectoryListing> {
  if (limit > MAX_LIST_LIMIT) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `List limit ${limit} is more than the maximum of ${MAX_LIST_LIMIT}; list subdirectories separately or lower the depth.`,
    );
  }
  const cap = limit > 0 ? limit : DEFAULT_LIST_LIMIT;
  const levels = Math.max(depth, 1);
  let directory: FileEntry;
  let rootNames: string[];
  try {
    const stats = await stat(target, { bigint: true });
    if (!stats.isDirectory()) {
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Cannot list "${target}": it is not a directory; read or stat it instead.`,
      );
    }
    directory = await describePath(target, stats);
    rootNames = await readdir(target);
  } catch (error) {
    throw fromSystemError(error, "list", target);
  }

  const entries: FileEntry[] = [];
  let level: { path: string; names: string[] | undefined }[] = [{ path: target, names: rootNames }];
  for (let current = 1; current <= levels && level.length > 0; current++) {
    const next: typeof level = [];
    for (const parent of level) {
      const names = (parent.names ?? (await readdir(parent.path).catch(() => []))).sort();
      for (let start = 0; start < names.length; start += STAT_BATCH) {
        const batch = await Promise.all(
          names.slice(start, start + STAT_BATCH).map((name) => entryOf(join(parent.path, name))),
        );
        for (const entry of batch) {
          if (!entry) continue;
          if (entries.length === cap) return { directory, entries, truncated: true };
          entries.push(entry);
          if (entry.kind === "directory") next.push({ path: entry.path, names: undefined });
        }
      }
    }
    level = next;
  }
  return { directory, entries, truncated: false };
}
