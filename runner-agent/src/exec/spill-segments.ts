import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { chunkEnd, sliceChunkFrom, sliceChunkTo, type OutputChunk } from "./output-chunk.js";

/** A frame on disk: u32 data length, u32 stream (1 stdout, 2 stderr), u64 seq, then the data. */
const HEADER_BYTES = 16;
/** One index entry per this much output, so a read scans at most this far to find its cursor. */
const INDEX_EVERY_BYTES = 64 * 1024;
const READ_BLOCK_BYTES = 256 * 1024;

interface Segment {
  path: string;
  /** Output range [start, end) the segment holds; end grows as batches are written. */
  start: number;
  end: number;
  fileBytes: number;
  index: { cursor: number; position: number }[];
  /** Open for appending while this is the newest segment. */
  writer: FileHandle | undefined;
}

/**
 * The on-disk part of one output log: segment files of framed chunks in a directory of their own. Whole segments
 * are dropped from the front when the log is over its cap, which is why the log is split into segments at all.
 * Appends must not overlap (the log has one writer); reads may run at any time.
 */
export class SpillSegments {
  private readonly segments: Segment[] = [];
  private created = 0;
  private removals: Promise<unknown>[] = [];

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  /** Output bytes held on disk. */
  get bytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.end - segment.start, 0);
  }

  get count(): number {
    return this.segments.length;
  }

  /**
   * Writes `chunks` at the end, starting a new segment whenever the next chunk would not fit in the last one, so no
   * segment holds more than segmentBytes (unless one chunk alone is larger) however large a batch is (a slow disk
   * makes batches large): the cap drops whole segments, and stays within one segment of its limit.
   */
  async append(chunks: OutputChunk[]): Promise<void> {
    let rest = chunks;
    while (rest.length > 0) {
      const segment = await this.openSegment(rest[0]!);
      let room = this.segmentBytes - (segment.end - segment.start);
      let count = 0;
      while (count < rest.length && (count === 0 || rest[count]!.data.length <= room))
        room -= rest[count++]!.data.length;
      await this.write(segment, rest.slice(0, count));
      rest = rest.slice(count);
    }
  }

  /** The last segment when `first` fits in it (or it is empty), else a new one starting at `first`. */
  private async openSegment(first: OutputChunk): Promise<Segment> {
    const cursor = first.cursor;
    const last = this.segments.at(-1);
    if (last && (last.end === last.start || last.end - last.start + first.data.length <= this.segmentBytes))
      return last;
    await last?.writer?.close();
    if (last) last.writer = undefined;
    if (this.created === 0) await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${String(this.created++).padStart(6, "0")}.seg`);
    const segment: Segment = {
      path,
      start: cursor,
      end: cursor,
      fileBytes: 0,
      index: [],
      writer: await open(path, "a", 0o600),
    };
    this.segments.push(segment);
    return segment;
  }

  private async write(segment: Segment, chunks: OutputChunk[]): Promise<void> {
    const { frames, bytes, index } = encodeFrames(chunks, segment);
    const { bytesWritten } = await segment.writer!.writev(frames);
    if (bytesWritten !== bytes)
      throw Object.assign(new Error(`short write to ${segment.path}: ${bytesWritten} of ${bytes} bytes`), {
        code: "ENOSPC",
      });
    segment.index.push(...index);
    segment.fileBytes += bytes;
    segment.end = chunkEnd(chunks.at(-1)!);
  }

  /** Deletes the oldest segment; returns where the disk part now starts, or undefined when nothing is left. */
  dropOldest(): number | undefined {
    const dropped = this.segments.shift();
    if (dropped)
      this.removals.push(
        Promise.all([dropped.writer?.close(), rm(dropped.path, { force: true })]).catch(() => undefined),
      );
    return this.segments[0]?.start;
  }

  /** Chunks from `cursor` on, up to `maxBytes` of data, all from the segment holding `cursor` ([] when none does). */
  async read(cursor: number, maxBytes: number): Promise<OutputChunk[]> {
    const segment = this.segments.find((candidate) => candidate.start <= cursor && cursor < candidate.end);
    if (!segment) return [];
    const entry = findIndexEntry(segment, cursor);
    const limit = segment.fileBytes;
    const chunks: OutputChunk[] = [];
    let taken = 0;
    let position = entry.position;
    let at = entry.cursor;
    let pending = Buffer.alloc(0);
    const file = await open(segment.path, "r");
    try {
      while (taken < maxBytes && position < limit) {
        const block = Buffer.allocUnsafe(Math.min(READ_BLOCK_BYTES, limit - position));
        const { bytesRead } = await file.read(block, 0, block.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        let buffer =
          pending.length > 0 ? Buffer.concat([pending, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
        while (buffer.length >= HEADER_BYTES && taken < maxBytes) {
          const length = buffer.readUInt32LE(0);
          if (buffer.length < HEADER_BYTES + length) break;
          const chunk: OutputChunk = {
            stream: buffer.readUInt32LE(4) === 2 ? "stderr" : "stdout",
            seq: Number(buffer.readBigUInt64LE(8)),
            cursor: at,
            data: buffer.subarray(HEADER_BYTES, HEADER_BYTES + length),
          };
          at += length;
          buffer = buffer.subarray(HEADER_BYTES + length);
          if (chunkEnd(chunk) <= cursor) continue;
          const piece = sliceChunkTo(sliceChunkFrom(chunk, cursor), maxBytes - taken);
          chunks.push(piece);
          taken += piece.data.length;
        }
        pending = buffer;
      }
    } finally {
      await file.close();
    }
    return chunks;
  }

  async destroy(): Promise<void> {
    const writers = this.segments.map((segment) => segment.writer?.close().catch(() => undefined));
    this.segments.length = 0;
    await Promise.all(writers);
    await Promise.all(this.removals);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The frames to write (headers and the chunks' own buffers, nothing copied) and the index entries they add. */
function encodeFrames(
  chunks: OutputChunk[],
  segment: Segment,
): { frames: Buffer[]; bytes: number; index: Segment["index"] } {
  const parts: Buffer[] = [];
  const index: Segment["index"] = [];
  let position = segment.fileBytes;
  let lastIndexed = segment.index.at(-1)?.cursor;
  for (const chunk of chunks) {
    if (lastIndexed === undefined || chunk.cursor - lastIndexed >= INDEX_EVERY_BYTES) {
      index.push({ cursor: chunk.cursor, position });
      lastIndexed = chunk.cursor;
    }
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32LE(chunk.data.length, 0);
    header.writeUInt32LE(chunk.stream === "stderr" ? 2 : 1, 4);
    header.writeBigUInt64LE(BigInt(chunk.seq), 8);
    parts.push(header, chunk.data);
    position += HEADER_BYTES + chunk.data.length;
  }
  return { frames: parts, bytes: position - segment.fileBytes, index };
}

function findIndexEntry(segment: Segment, cursor: number): Segment["index"][number] {
  let low = 0;
  let high = segment.index.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (segment.index[mid]!.cursor <= cursor) low = mid;
    else high = mid - 1;
  }
  return segment.index[low] ?? { cursor: segment.start, position: 0 };
}
