import type { BigIntStats } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { basename } from "node:path";
import { AgentError } from "../errors.js";

export type FileKind = "file" | "directory" | "symlink" | "other";

/** A path's metadata as the agent reports it; `etag` identifies this version of it (see etagOf). */
export interface FileEntry {
  path: string;
  name: string;
  kind: FileKind;
  size: number;
  mode: number;
  mtimeMs: number;
  etag: string;
  /** Where a symlink points, as stored in the link; empty for anything else. */
  linkTarget: string;
  uid: number;
  gid: number;
  /** st_dev and st_ino as decimal strings: which file this is, also for a host folder bound into the runner. */
  dev: string;
  ino: string;
}

const MAX_MODE = 0o7777;

function kindOf(stats: BigIntStats): FileKind {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

/**
 * The one etag scheme of the agent: inode, size, mtime and ctime in nanoseconds. Writes through the agent replace
 * the inode (temporary file + rename: the new inode exists while the old one does, so the two always differ), and
 * any other change moves mtime or ctime, so every change of content or metadata changes the etag.
 */
export function etagOf(stats: BigIntStats): string {
  return [stats.ino, stats.size, stats.mtimeNs, stats.ctimeNs].map((value) => value.toString(36)).join("-");
}

export function toFileEntry(path: string, stats: BigIntStats, linkTarget = ""): FileEntry {
  return {
    path,
    name: basename(path),
    kind: kindOf(stats),
    size: Number(stats.size),
    mode: Number(stats.mode) & MAX_MODE,
    mtimeMs: Number(stats.mtimeMs),
    etag: etagOf(stats),
    linkTarget,
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    dev: stats.dev.toString(),
    ino: stats.ino.toString(),
  };
}

/** Describes `path` with `stats` (of what it points to), adding the link target when `path` itself is a symlink. */
export async function describePath(path: string, stats: BigIntStats): Promise<FileEntry> {
  const own = stats.isSymbolicLink() ? stats : await lstat(path, { bigint: true }).catch(() => undefined);
  const linkTarget = own?.isSymbolicLink() ? await readlink(path).catch(() => "") : "";
  return toFileEntry(path, stats, linkTarget);
}

export function assertValidMode(mode: number): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_MODE) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `Mode ${mode} (octal ${mode.toString(8)}) is not valid permission bits; pass at most 07777 (decimal 4095), e.g. 0644 (decimal 420) or 0755 (decimal 493).`,
    );
  }
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
