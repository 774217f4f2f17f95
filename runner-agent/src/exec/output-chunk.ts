export type OutputStreamName = "stdout" | "stderr";

/** One read from a process's stdout or stderr, placed in its output log at `cursor`. */
export interface OutputChunk {
  /** Monotonic per process, from 1, across both streams. */
  seq: number;
  stream: OutputStreamName;
  /** Position of data's first byte in the log. */
  cursor: number;
  data: Buffer;
}

/** The bytes a chunk ends before: where a reader that received it resumes. */
export function chunkEnd(chunk: OutputChunk): number {
  return chunk.cursor + chunk.data.length;
}

/** The part of `chunk` from `cursor` on (same seq and stream). */
export function sliceChunkFrom(chunk: OutputChunk, cursor: number): OutputChunk {
  if (cursor <= chunk.cursor) return chunk;
  return { ...chunk, cursor, data: chunk.data.subarray(cursor - chunk.cursor) };
}

/** The first `bytes` bytes of `chunk`. */
export function sliceChunkTo(chunk: OutputChunk, bytes: number): OutputChunk {
  return bytes >= chunk.data.length ? chunk : { ...chunk, data: chunk.data.subarray(0, bytes) };
}
