import type { ManagedProcess } from "./managed-process.js";
import { chunkEnd, type OutputChunk } from "./output-chunk.js";
import type { ExitStatus } from "./process-info.js";

export type FollowEvent =
  | { type: "output"; chunk: OutputChunk }
  | { type: "dropped"; cursor: number; bytes: number }
  | { type: "keepalive"; cursor: number }
  | { type: "exited"; exit: ExitStatus };

/** How much one read of the log takes; the consumer's backpressure decides when the next one happens. */
const FOLLOW_READ_BYTES = 256 * 1024;

/**
 * A process's output from `cursor` on, live, then its exit; a keepalive after `keepaliveMs` without output. The
 * consumer pulls at its own pace, so a slow one holds no more than one read in memory. Stops when `signal` aborts.
 */
export async function* followOutput(
  process: ManagedProcess,
  cursor: number,
  keepaliveMs: number,
  signal: AbortSignal,
): AsyncGenerator<FollowEvent> {
  const log = process.output;
  process.readers++;
  try {
    while (!signal.aborted) {
      const read = await log.read(cursor, FOLLOW_READ_BYTES);
      if (read.kind === "dropped") {
        yield { type: "dropped", cursor: read.cursor, bytes: read.bytes };
        cursor += read.bytes;
        continue;
      }
      for (const chunk of read.chunks) {
        yield { type: "output", chunk };
        cursor = chunkEnd(chunk);
      }
      if (read.chunks.length > 0) continue;
      if (log.closed) {
        yield { type: "exited", exit: process.exit! };
        return;
      }
      if (!(await log.waitForMore(cursor, keepaliveMs, signal)) && !signal.aborted) yield { type: "keepalive", cursor };
    }
  } finally {
    process.readers--;
  }
}

export interface OutputPage {
  chunks: OutputChunk[];
  droppedBytes: number;
  nextCursor: number;
  /** The process has ended and nextCursor is the end of its output. */
  eof: boolean;
}

/** Up to `maxBytes` of output after `cursor`; when there is none yet and the process runs, waits up to `waitMs`. */
export async function readOutputPage(
  process: ManagedProcess,
  cursor: number,
  maxBytes: number,
  waitMs: number,
  signal?: AbortSignal,
): Promise<OutputPage> {
  const log = process.output;
  let droppedBytes = 0;
  let waited = false;
  process.readers++;
  try {
    for (;;) {
      const read = await log.read(cursor, maxBytes);
      if (read.kind === "dropped") {
        droppedBytes += read.bytes;
        cursor += read.bytes;
        continue;
      }
      const nextCursor = read.chunks.reduce((_, chunk) => chunkEnd(chunk), cursor);
      if (read.chunks.length > 0 || waited || waitMs === 0 || log.closed) {
        return { chunks: read.chunks, droppedBytes, nextCursor, eof: log.closed && nextCursor === log.end };
      }
      await log.waitForMore(cursor, waitMs, signal);
      waited = true;
    }
  } finally {
    process.readers--;
  }
}
