import type { BigIntStats } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { basename, join, matchesGlob } from "node:path";
import { pack as createPack, type Header, type Pack } from "tar-stream";
import { AgentError, fromSystemError } from "../errors.js";
import { isMissing, toFileEntry, type FileEntry } from "./file-entry.js";
import { drained } from "./stream-drain.js";

export interface TarOutOptions {
  /** When non-empty, only files and symlinks whose relative path matches one of these are archived. */
  include: string[];
  /** Entries whose relative path matches one of these are left out (a directory with everything below it). */
  exclude: string[];
}

/** A tar archive being produced: read `chunks` to the end, or `close` it to stop early. */
export interface TarOut {
  root: FileEntry;
  chunks: AsyncIterable<Uint8Array>;
  close(): void;
}

/** Small tar pieces (headers, padding) are gathered into chunks of about this size before they are handed on. */
const CHUNK_BYTES = 256 * 1024;

function headerOf(name: string, stats: BigIntStats): Pick<Header, "name" | "mode" | "mtime" | "uid" | "gid"> {
  return {
    name,
    mode: Number(stats.mode) & 0o7777,
    mtime: new Date(Number(stats.mtimeMs)),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
  };
}

/** Adds one entry and waits until tar-stream has taken all of it. */
async function addEntry(
  pack: Pack,
  header: Parameters<Pack["entry"]>[0],
  body?: (sink: ReturnType<Pack["entry"]>) => Promise<void>,
): Promise<void> {
  let sink!: ReturnType<Pack["entry"]>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (error) => (error ? reject(error) : resolve()));
  });
  // Failures arrive through `done` (and the body); unlistened 'error' events would also be thrown as uncaught.
  sink.on("error", () => undefined);
  done.catch(() => undefined);
  if (body) await body(sink);
  sink.end(null);
  await done;
}

/** Archives one regular file from an open descriptor, so a concurrent replace cannot mix two versions. */
async function addFile(pack: Pack, path: string, name: string): Promise<void> {
  const handle = await open(path, "r").catch((error: unknown) => {
    if (isMissing(error)) return undefined; // vanished since it was listed
    throw error;
  });
  if (!handle) return;
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile()) return;
    const size = Number(stats.size);
    await addEntry(pack, { ...headerOf(name, stats), type: "file", size }, async (sink) => {
      let sent = 0;
      const write = async (chunk: Uint8Array): Promise<void> => {
        sent += chunk.length;
        if (!sink.write(chunk)) await drained(sink, "the archive");
      };
      if (size > 0)
        for await (const chunk of handle.createReadStream({ start: 0, end: size - 1, autoClose: false }))
          await write(chunk as Buffer);
      // A file that shrank while it was read is padded with zeros, as GNU tar does: the header already has its size.
      if (sent < size) await write(Buffer.alloc(size - sent));
    });
  } finally {
    await handle.close();
  }
}

class TarWalk {
  private stopped = false;
  /** Directories on the way to the current entry that have not been written yet (when `include` defers them). */
  private readonly pendingDirectories: { name: string; stats: BigIntStats }[] = [];
  private written = 0;

  constructor(
    private readonly pack: Pack,
    private readonly options: TarOutOptions,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async directory(path: string, prefix: string): Promise<void> {
    const names = await readdir(path).catch((error: unknown) => {
      if (isMissing(error)) return [];
      throw error;
    });
    for (const name of names.sort()) {
      if (this.stopped) return;
      const relative = prefix ? `${prefix}/${name}` : name;
      if (this.options.exclude.some((glob) => matchesGlob(relative, glob))) continue;
      const child = join(path, name);
      const stats = await lstat(child, { bigint: true }).catch(() => undefined);
      if (!stats) continue;
      if (stats.isDirectory()) {
        this.pendingDirectories.push({ name: relative, stats });
        if (this.options.include.length === 0) await this.flushDirectories();
        await this.directory(child, relative);
        this.pendingDirectories.pop();
        this.written = Math.min(this.written, this.pendingDirectories.length);
      } else if ((stats.isFile() || stats.isSymbolicLink()) && this.isIncluded(relative)) {
        await this.flushDirectories();
        await this.leaf(child, relative, stats);
      }
    }
  }

  async leaf(path: string, name: string, stats: BigIntStats): Promise<void> {
    if (stats.isSymbolicLink())
      await addEntry(this.pack, { ...headerOf(name, stats), type: "symlink", linkname: await readlink(path) });
    else await addFile(this.pack, path, name);
  }

  private isIncluded(relative: string): boolean {
    return this.options.include.length === 0 || this.options.include.some((glob) => matchesGlob(relative, glob));
  }

  private async flushDirectories(): Promise<void> {
    for (const { name, stats } of this.pendingDirectories.slice(this.written))
      await addEntry(this.pack, { ...headerOf(name, stats), type: "directory" });
    this.written = this.pendingDirectories.length;
  }
}

async function* gathered(pack: Pack): AsyncIterable<Uint8Array> {
  let pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of pack as AsyncIterable<Buffer>) {
    pieces.push(piece);
    size += piece.length;
    if (size >= CHUNK_BYTES) {
      yield Buffer.concat(pieces, size);
      pieces = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pieces, size);
}

/**
 * Streams a tar archive (pax/ustar) of `target`: a directory's contents named relative to it (sorted, depth
 * first), or a single file named after it. Symlinks are archived as links; sockets, FIFOs and devices are skipped.
 * The archive is produced as it is read (backpressure all the way to the files); nothing is held in memory.
 */
export async function openTarOut(target: string, options: TarOutOptions): Promise<TarOut> {
  for (const glob of [...options.include, ...options.exclude]) {
    if (!glob)
      throw new AgentError(
        "INVALID_ARGUMENT",
        `Cannot archive "${target}": an include or exclude glob is empty; remove it or write a pattern such as "**/*.ts".`,
      );
  }
  const stats = await stat(target, { bigint: true }).catch((error: unknown) => {
    throw fromSystemError(error, "archive", target);
  });
  if (!stats.isDirectory() && !stats.isFile()) {
    throw new AgentError(
      "FAILED_PRECONDITION",
      `Cannot archive "${target}": it is not a file or directory (a socket, FIFO or device).`,
    );
  }
  const pack = createPack();
  // Errors reach the reader through `chunks`; without a listener streamx would also throw them as uncaught.
  pack.on("error", () => undefined);
  const walk = new TarWalk(pack, options);
  const produce = stats.isDirectory() ? walk.directory(target, "") : walk.leaf(target, basename(target), stats);
  produce.then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(fromSystemError(error, "archive", target)),
  );
  return {
    root: toFileEntry(target, stats),
    chunks: gathered(pack),
    close() {
      walk.stop();
      pack.destroy(new Error("the archive was closed"));
    },
  };
}
