import { chmod, lstat, mkdir, open, readlink, rm, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Readable } from "node:stream";
import { AgentError, fromSystemError } from "../errors.js";
import { listDirectory, type DirectoryListing } from "./directory-listing.js";
import { assertEtagMatches } from "./etag-check.js";
import { assertValidMode, describePath, toFileEntry, type FileEntry } from "./file-entry.js";
import { moveEntry, type MoveOptions } from "./file-move.js";
import { FileWrite, type WriteOptions } from "./file-write.js";
import { PathLocks } from "./path-locks.js";
import { TarExtraction, type TarInOptions } from "./tar-extraction.js";
import { openTarOut, type TarOut, type TarOutOptions } from "./tar-out.js";

const READ_CHUNK_BYTES = 256 * 1024;
const NEW_DIRECTORY_MODE = 0o755;

/**
 * Filesystem work inside the runner. Relative paths resolve against the work directory; absolute paths are
 * used as given (there is no allow-list inside a runner: the container is the boundary). Replacing writes,
 * moves and removals of one path are serialized (PathLocks), which makes conditional writes atomic.
 */
export class FileSystem {
  private readonly locks = new PathLocks();

  constructor(private readonly workDir: string) {}

  resolve(path: string): string {
    if (path.includes("\0")) throw new AgentError("INVALID_ARGUMENT", "Path must not contain NUL bytes.");
    return resolve(this.workDir, path || ".");
  }

  /** Describes a path, following symlinks (a dangling one describes itself). */
  async stat(path: string): Promise<FileEntry> {
    const target = this.resolve(path);
    const own = await lstat(target, { bigint: true }).catch((error: unknown) => {
      throw fromSystemError(error, "stat", target);
    });
    if (!own.isSymbolicLink()) return toFileEntry(target, own);
    const linkTarget = await readlink(target);
    const followed = await stat(target, { bigint: true }).catch(() => undefined);
    return toFileEntry(target, followed ?? own, linkTarget);
  }

  list(path: string, depth: number, limit: number): Promise<DirectoryListing> {
    return listDirectory(this.resolve(path), depth, limit);
  }

  /** Opens a file for reading from `offset`, at most `length` bytes (0 = to the end); `info` is the version read. */
  async openRead(
    path: string,
    offset: number,
    length: number,
    ifMatch = "",
  ): Promise<{ info: FileEntry; stream: Readable }> {
    const target = this.resolve(path);
    let handle: FileHandle | undefined;
    try {
      // Check the type before opening: opening a FIFO would block until someone writes to it.
      const before = await stat(target);
      if (before.isDirectory())
        throw new AgentError("FAILED_PRECONDITION", `Cannot read "${target}": it is a directory; list it instead.`);
      if (!before.isFile())
        throw new AgentError(
          "FAILED_PRECONDITION",
          `Cannot read "${target}": it is not a regular file (a socket, FIFO or device).`,
        );
      handle = await open(target, "r");
      // Everything below describes the open descriptor: the version whose bytes this call returns.
      const stats = await handle.stat({ bigint: true });
      assertEtagMatches("read", target, ifMatch, stats);
      const end = length > 0 ? offset + length - 1 : undefined;
      const info = await describePath(target, stats);
      return {
        info,
        stream: handle.createReadStream({
          start: offset,
          ...(end !== undefined ? { end } : {}),
          highWaterMark: READ_CHUNK_BYTES,
        }),
      };
    } catch (error) {
      await handle?.close();
      throw fromSystemError(error, "read", target);
    }
  }

  /** Starts a streamed atomic write; see FileWrite. */
  beginWrite(path: string, options: WriteOptions): Promise<FileWrite> {
    return FileWrite.begin(this.resolve(path), options, this.locks);
  }

  async mkdir(path: string, options: { parents: boolean; mode: number }): Promise<FileEntry> {
    assertValidMode(options.mode);
    const target = this.resolve(path);
    const mode = options.mode || NEW_DIRECTORY_MODE;
    try {
      const existing = await stat(target).catch(() => undefined);
      if (existing && options.parents) {
        if (existing.isDirectory()) return await this.stat(target);
        throw new AgentError(
          "FAILED_PRECONDITION",
          `Cannot create directory "${target}": a file is in the way; remove it or choose another path.`,
        );
      }
      if (existing)
        throw new AgentError(
          "ALREADY_EXISTS",
          `Cannot create directory "${target}": it already exists; set parents to accept an existing directory.`,
        );
      await mkdir(target, { recursive: options.parents, mode });
      await chmod(target, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new AgentError(
          "NOT_FOUND",
          `Cannot create directory "${target}": its parent "${dirname(target)}" does not exist; set parents to create it.`,
          { cause: error },
        );
      }
      throw fromSystemError(error, "create directory", target);
    }
    return this.stat(target);
  }

  async move(source: string, destination: string, options: MoveOptions): Promise<FileEntry> {
    const from = this.resolve(source);
    const to = this.resolve(destination);
    await this.locks.run([from, to], () => moveEntry(from, to, options));
    return this.stat(to);
  }

  /** Removes a path (a symlink itself, not its target); a directory only when empty unless `recursive`. */
  async remove(path: string, recursive: boolean): Promise<FileEntry> {
    const target = this.resolve(path);
    if (target === "/")
      throw new AgentError("INVALID_ARGUMENT", 'Refusing to remove "/"; name the directory you mean.');
    return this.locks.run([target], async () => {
      const own = await lstat(target, { bigint: true }).catch((error: unknown) => {
        throw fromSystemError(error, "remove", target);
      });
      const entry = toFileEntry(target, own, own.isSymbolicLink() ? await readlink(target) : "");
      try {
        if (!own.isDirectory()) await unlink(target);
        else if (recursive) await rm(target, { recursive: true });
        else await rmdir(target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOTEMPTY") {
          throw new AgentError(
            "FAILED_PRECONDITION",
            `Cannot remove "${target}": the directory is not empty; set recursive to remove it with everything in it, or remove its entries first.`,
            { cause: error },
          );
        }
        throw fromSystemError(error, "remove", target);
      }
      return entry;
    });
  }

  async chmod(path: string, mode: number): Promise<FileEntry> {
    assertValidMode(mode);
    const target = this.resolve(path);
    await chmod(target, mode).catch((error: unknown) => {
      throw fromSystemError(error, "change the mode of", target);
    });
    return this.stat(target);
  }

  /** Starts a tar archive of a file or of a directory's contents; see openTarOut. */
  tarOut(path: string, options: TarOutOptions): Promise<TarOut> {
    return openTarOut(this.resolve(path), options);
  }

  /** Starts an all-or-nothing extraction into a directory; see TarExtraction. */
  tarIn(path: string, options: TarInOptions): Promise<TarExtraction> {
    return TarExtraction.begin(this.resolve(path), options);
  }
}
