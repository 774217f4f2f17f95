import { randomBytes } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { mkdir, open, realpath, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AgentError, fromSystemError } from "../errors.js";
import { assertEtagMatches } from "./etag-check.js";
import { assertValidMode, describePath, isMissing, type FileEntry } from "./file-entry.js";
import type { PathLocks } from "./path-locks.js";
import type { UploadSink } from "./upload-stream.js";

export interface WriteOptions {
  createParents: boolean;
  /** Permission bits; 0 keeps an existing file's mode or uses 0644. */
  mode: number;
  /** Replace the file only if its etag is this one; empty = unconditional. */
  ifMatch: string;
}

const NEW_FILE_MODE = 0o644;

/**
 * Written bytes between two background flushes (fdatasync while the upload goes on), so that the sync before the
 * rename has only the tail left to write: 100 MB Writes finished about 10% sooner.
 */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

async function statOrMissing(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw fromSystemError(error, "write", path);
  }
}

/**
 * One streamed, atomic file write: bytes go to a temporary file beside the target, which replaces the target by
 * rename on finish (after the etag check, under the target's lock); abort removes the temporary file. A symlink to
 * an existing file is followed: the file it points to is replaced, the link stays.
 */
export class FileWrite implements UploadSink<FileEntry> {
  private closed = false;
  private unflushed = 0;
  private flushing: Promise<void> | undefined;
  /** A failed background flush; kept for finish, since the kernel reports a writeback error only once. */
  private flushFailure: unknown;

  private constructor(
    /** The path as the caller named it (absolute). */
    private readonly path: string,
    /** Where the bytes go: `path`, or the file a symlink at `path` points to. */
    private readonly destination: string,
    private readonly temp: string,
    private readonly handle: FileHandle,
    private readonly mode: number,
    private readonly ifMatch: string,
    private readonly locks: PathLocks,
  ) {}

  static async begin(path: string, options: WriteOptions, locks: PathLocks): Promise<FileWrite> {
    assertValidMode(options.mode);
    const destination = await realpath(path).catch(() => path);
    const parent = dirname(destination);
    const existing = await statOrMissing(destination);
    if (existing?.isDirectory()) {
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Cannot write "${path}": it is a directory; write to a path inside it, or remove it first.`,
      );
    }
    if (existing && !existing.isFile()) {
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Cannot write "${path}": it is not a regular file (a socket, FIFO or device); remove it first or write elsewhere.`,
      );
    }
    assertEtagMatches("write", path, options.ifMatch, existing);
    if (options.createParents && !existing) {
      await mkdir(parent, { recursive: true }).catch((error: unknown) => {
        throw fromSystemError(error, "create the parent directories of", path);
      });
    }
    const mode = options.mode || (existing ? Number(existing.mode) & 0o7777 : NEW_FILE_MODE);
    const temp = join(parent, `.${basename(destination)}.${randomBytes(6).toString("hex")}.devhatchery-tmp`);
    let handle: FileHandle;
    try {
      handle = await open(temp, "wx", mode);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      if (errno === "ENOENT") {
        throw new AgentError(
          "NOT_FOUND",
          `Cannot write "${path}": directory "${parent}" does not exist; set create_parents to create it.`,
          { cause: error },
        );
      }
      if (errno === "ENOTDIR") {
        throw new AgentError(
          "FAILED_PRECONDITION",
          `Cannot write "${path}": a parent of it is a file, not a directory; fix the path or remove that file.`,
          { cause: error },
        );
      }
      throw fromSystemError(error, "write", path);
    }
    // Keep the owner of the file being replaced (possible when the agent runs as root); otherwise it becomes ours.
    if (existing) await handle.chown(Number(existing.uid), Number(existing.gid)).catch(() => undefined);
    return new FileWrite(path, destination, temp, handle, mode, options.ifMatch, locks);
  }

  async write(chunk: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      throw fromSystemError(error, "write", this.path);
    }
    this.unflushed += chunk.length;
    if (this.unflushed >= FLUSH_EVERY_BYTES && !this.flushing) {
      this.unflushed = 0;
      this.flushing = this.handle.datasync().then(
        () => (this.flushing = undefined),
        (error: unknown) => {
          this.flushFailure ??= error;
          this.flushing = undefined;
        },
      );
    }
  }

  async finish(cancelled?: AbortSignal): Promise<FileEntry> {
    try {
      await this.flushing;
      if (this.flushFailure) throw this.flushFailure;
      // The explicit chmod applies the mode exactly, whatever the umask.
      await this.handle.chmod(this.mode);
      await this.handle.sync();
      await this.close();
      return await this.locks.run([this.destination], async () => {
        if (this.ifMatch) assertEtagMatches("write", this.path, this.ifMatch, await statOrMissing(this.destination));
        if (cancelled?.aborted)
          throw new AgentError(
            "FAILED_PRECONDITION",
            `Cannot write "${this.path}": the call was cancelled; the file was not changed.`,
          );
        await rename(this.temp, this.destination);
        return describePath(this.path, await stat(this.path, { bigint: true }));
      });
    } catch (error) {
      await this.abort();
      throw fromSystemError(error, "write", this.path);
    }
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Never close the descriptor under a flush in flight (the number could be reused by another open).
    await this.flushing;
    await this.handle.close();
  }
}
