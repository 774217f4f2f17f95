import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";

/** What is kept beside a cached file: enough to answer a request for it as the upstream did. */
export interface CachedEntry {
  url: string;
  size: number;
  contentType: string | undefined;
  lastModified: string | undefined;
  /** When it was fetched (ms since the epoch): index files expire `indexTtlMs` after it. */
  storedAt: number;
}

/**
 * A download into the cache: write the body to `stream`, then `commit` with the bytes written (kept only when they
 * are the size the upstream announced) or `discard` (anything else).
 */
export interface CacheWrite {
  stream: WriteStream;
  commit(written: number): Promise<void>;
  discard(): Promise<void>;
}

const STAGING = ".staging";

/**
 * Files of the apt cache on the control plane's disk: `<dir>/<sha256 of the URL>` and its `.json` entry. A file
 * appears under its name only complete (written in .staging, then renamed). Least recently used files go first when
 * the cache grows past `maxBytes`.
 */
export class AptCacheStore {
  private readonly entries = new Map<string, CachedEntry & { usedAt: number }>();
  private totalBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** Creates the folders and reads what an earlier process cached (its staging leftovers are removed). */
  async open(): Promise<void> {
    await rm(join(this.dir, STAGING), { recursive: true, force: true });
    await mkdir(join(this.dir, STAGING), { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(".json")) continue;
      const key = name.slice(0, -5);
      try {
        const entry = JSON.parse(await readFile(join(this.dir, name), "utf8")) as CachedEntry;
        const info = await stat(join(this.dir, key));
        if (info.size !== entry.size) throw new Error("size differs from its entry");
        this.entries.set(key, { ...entry, usedAt: info.atimeMs });
        this.totalBytes += entry.size;
      } catch {
        await this.removeKey(key);
      }
    }
    await this.evict();
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The cached entry for `url` and its file, unless missing or (for index files) older than `maxAgeMs`. */
  find(url: string, maxAgeMs = Infinity): { entry: CachedEntry; path: string } | undefined {
    const key = keyOf(url);
    const entry = this.entries.get(key);
    if (!entry || Date.now() - entry.storedAt > maxAgeMs) return undefined;
    entry.usedAt = Date.now();
    return { entry, path: join(this.dir, key) };
  }

  /** Starts storing `url`; the entry becomes visible at commit, and only when `size` bytes (when known) arrived. */
  write(
    url: string,
    meta: Omit<CachedEntry, "url" | "size" | "storedAt">,
    expectedSize: number | undefined,
  ): CacheWrite {
    const key = keyOf(url);
    const staging = join(this.dir, STAGING, `${key}.${randomBytes(4).toString("hex")}`);
    const stream = createWriteStream(staging, { mode: 0o600 });
    const finished = new Promise<void>((resolve, reject) => {
      stream.once("finish", resolve);
      stream.once("error", reject);
    });
    return {
      stream,
      commit: async (written) => {
        stream.end();
        await finished;
        if (expectedSize !== undefined && written !== expectedSize) {
          await rm(staging, { force: true });
          return;
        }
        const entry: CachedEntry = { url, size: written, storedAt: Date.now(), ...meta };
        const previous = this.entries.get(key);
        await rename(staging, join(this.dir, key));
        await writeFile(join(this.dir, `${key}.json`), JSON.stringify(entry), { mode: 0o600 });
        this.totalBytes += written - (previous?.size ?? 0);
        this.entries.set(key, { ...entry, usedAt: Date.now() });
        await this.evict();
      },
      discard: async () => {
        stream.destroy();
        await rm(staging, { force: true });
      },
    };
  }

  /** Least recently used first, until the cache fits. */
  private async evict(): Promise<void> {
    if (this.totalBytes <= this.maxBytes) return;
    const byUse = [...this.entries.entries()].sort(([, a], [, b]) => a.usedAt - b.usedAt);
    for (const [key] of byUse) {
      if (this.totalBytes <= this.maxBytes) break;
      await this.removeKey(key);
    }
    this.log.debug({ bytes: this.totalBytes }, "apt cache trimmed to its size");
  }

  private async removeKey(key: string): Promise<void> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    if (entry) this.totalBytes -= entry.size;
    await rm(join(this.dir, key), { force: true });
    await rm(join(this.dir, `${key}.json`), { force: true });
  }
}

function keyOf(url: string): string {
  return createHash("sha256").update(url).digest("hex");
}
