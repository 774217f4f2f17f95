import type { ExecChunk } from "./exec.js";

/** A read's chunks as text per stream, and where the next read starts. */
export interface ExecReadText {
  stdout: string;
  stderr: string;
  nextCursor: number;
}

/**
 * Splits a read's chunks into stdout and stderr text. When the last chunk ends inside a UTF-8 character and more
 * output can follow, those bytes are left for the next read (nextCursor moves back) so no character is torn in two.
 */
export function toExecReadText(chunks: ExecChunk[], nextCursor: number, eof: boolean): ExecReadText {
  const parts = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  for (const chunk of chunks) parts[chunk.stream].push(chunk.data);
  const last = chunks.at(-1);
  if (last && !eof) {
    const torn = tornUtf8TailLength(last.data);
    const stream = parts[last.stream];
    if (torn > 0 && Buffer.concat(stream).length > torn) {
      stream[stream.length - 1] = last.data.subarray(0, last.data.length - torn);
      nextCursor -= torn;
    }
  }
  return {
    stdout: Buffer.concat(parts.stdout).toString("utf8"),
    stderr: Buffer.concat(parts.stderr).toString("utf8"),
    nextCursor,
  };
}

/** How many bytes at the end of `data` begin a UTF-8 character that is not complete yet (0 to 3). */
export function tornUtf8TailLength(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}
