import { randomBytes } from "node:crypto";
import { createReadStream, type Stats } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { AgentError, fromSystemError } from "../errors.js";

export type FileKind = "file" | "directory" | "symlink" | "other";

export interface FileEntry {
  path: string;
  name: string;
  kind: FileKind;
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface DirectoryListing {
  directory: FileEntry;
  entries: FileEntry[];
  truncated: boolean;
}

export const DEFAULT_LIST_LIMIT = 1000;
const READ_CHUNK_BYTES = 64 * 1024;

function kindOf(stats: Stats): FileKind {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

function toEntry(path: string, stats: Stats): FileEntry {
  return { path, name: basename(path), kind: kindOf(stats), size: stats.size, mode: stats.mode & 0o7777, mtimeMs: Math.trunc(stats.mtimeMs) };
}

/**
 * Filesystem work inside the runner. Relative paths resolve against the work directory; absolute paths are
 * used as given (there is no allow-list inside a runner: the container is the boundary).
 */
export class FileSystem {
  constructor(private readonly workDir: string) {}

  resolve(path: string): string {
    if (path.includes("\0")) throw new AgentError("INVALID_ARGUMENT", "Path must not contain NUL bytes.");
    return resolve(this.workDir, path || ".");
  }

  /** Opens a file for reading from `offset`, at most `length` bytes (0 = to the end). */
  async openRead(path: string, offset: number, length: number): Promise<{ info: FileEntry; stream: Readable }> {
    const target = this.resolve(path);
    let stats: Stats;
    try {
      stats = await stat(target);
    } catch (error) {
      throw fromSystemError(error, "read", target);
    }
    if (stats.isDirectory()) {
      throw new AgentError("FAILED_PRECONDITION", `Cannot read "${target}": it is a directory; list it instead.`);
    }
    const end = length > 0 ? offset + length - 1 : undefined;
    const stream = createReadStream(target, { start: offset, ...(end !== undefined ? { end } : {}), highWaterMark: READ_CHUNK_BYTES });
    return { info: toEntry(target, stats), stream };
  }

  /** Writes a whole file atomically: a temporary file beside it, then a rename over the target. */
  async write(path: string, data: Uint8Array, options: { createParents: boolean; mode: number }): Promise<FileEntry> {
    const target = this.resolve(path);
    const parent = dirname(target);
    if (options.createParents) {
      await mkdir(parent, { recursive: true }).catch((error: unknown) => {
        throw fromSystemError(error, "create parent directories of", target);
      });
    }
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw new AgentError("FAILED_PRECONDITION", `Cannot write "${target}": it is a directory.`);
    }
    const mode = options.mode || (existing ? existing.mode & 0o7777 : 0o644);
    const temp = join(parent, `.${basename(target)}.${randomBytes(6).toString("hex")}.devhatchery-tmp`);
    try {
      const handle = await open(temp, "wx", mode);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(temp, mode);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && !options.createParents) {
        throw new AgentError("NOT_FOUND", `Cannot write "${target}": directory "${parent}" does not exist; set create_parents to create it.`, { cause: error });
      }
      throw fromSystemError(error, "write", target);
    }
    return toEntry(target, await stat(target));
  }

  /** Lists a directory's entries sorted by name, at most `limit` of them. */
  async list(path: string, limit: number): Promise<DirectoryListing> {
    const target = this.resolve(path);
    const cap = limit > 0 ? limit : DEFAULT_LIST_LIMIT;
    let names: string[];
    let directory: Stats;
    try {
      directory = await stat(target);
      if (!directory.isDirectory()) {
        throw new AgentError("FAILED_PRECONDITION", `Cannot list "${target}": it is not a directory; read or stat it instead.`);
      }
      names = (await readdir(target)).sort();
    } catch (error) {
      throw fromSystemError(error, "list", target);
    }
    const entries: FileEntry[] = [];
    for (const name of names.slice(0, cap)) {
      const entryPath = join(target, name);
      // An entry may vanish between readdir and lstat; skip it rather than fail the whole listing.
      const stats = await lstat(entryPath).catch(() => undefined);
      if (stats) entries.push(toEntry(entryPath, stats));
    }
    return { directory: toEntry(target, directory), entries, truncated: names.length > cap };
  }
}
