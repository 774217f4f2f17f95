import { createReadStream } from "node:fs";
import { Readable } from "node:stream";

/** One entry of a tar archive: a directory, a file from disk, or a file from memory. */
export type TarEntry =
  | { type: "directory"; path: string; mode: number }
  | { type: "file"; path: string; mode: number; size: number; sourcePath: string }
  | { type: "file"; path: string; mode: number; content: Buffer };

const BLOCK = 512;

/** Streams a POSIX ustar archive of `entries` (owned by root, in order), as Docker's putArchive expects. */
export function createTarArchive(entries: TarEntry[], mtime = new Date()): Readable {
  const seconds = Math.floor(mtime.getTime() / 1000);
  return Readable.from(generate(entries, seconds), { objectMode: false });
}

async function* generate(entries: TarEntry[], mtime: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type === "directory") {
      yield header(entry.path.endsWith("/") ? entry.path : `${entry.path}/`, entry.mode, 0, mtime, "5");
      continue;
    }
    if ("content" in entry) {
      yield header(entry.path, entry.mode, entry.content.length, mtime, "0");
      yield entry.content;
      yield padding(entry.content.length);
      continue;
    }
    yield header(entry.path, entry.mode, entry.size, mtime, "0");
    let written = 0;
    for await (const chunk of createReadStream(entry.sourcePath)) {
      written += (chunk as Buffer).length;
      if (written > entry.size) break;
      yield chunk as Buffer;
    }
    if (written !== entry.size) {
      throw new Error(
        `File "${entry.sourcePath}" changed while it was archived (expected ${entry.size} bytes, read ${written}); retry.`,
      );
    }
    yield padding(entry.size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

function header(path: string, mode: number, size: number, mtime: number, type: "0" | "5"): Buffer {
  if (Buffer.byteLength(path) > 100)
    throw new Error(`Tar entry name "${path}" is longer than 100 bytes; use a shorter path.`);
  const block = Buffer.alloc(BLOCK);
  block.write(path, 0, 100, "utf8");
  writeOctal(block, mode, 100, 8);
  writeOctal(block, 0, 108, 8);
  writeOctal(block, 0, 116, 8);
  writeOctal(block, size, 124, 12);
  writeOctal(block, mtime, 136, 12);
  block.fill(" ", 148, 156);
  block.write(type, 156, 1, "ascii");
  block.write("ustar\u000000", 257, 8, "ascii");
  block.write("root", 265, 32, "ascii");
  block.write("root", 297, 32, "ascii");
  let checksum = 0;
  for (const byte of block) checksum += byte;
  block.write(`${checksum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return block;
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "ascii");
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}
