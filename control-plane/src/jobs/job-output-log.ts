import { createWriteStream, type WriteStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";

/** The end of the output kept in memory (in characters) for results and for jobs whose output outgrew the log. */
export const OUTPUT_TAIL_CHARS = 16 * 1024;

/** Output after a cursor: `eof` once the job ended and nothing more will come. */
export interface JobOutputRead {
  text: string;
  cursor: number;
  nextCursor: number;
  eof: boolean;
  /** Output past the log's cap is not kept (only its tail, in the job's result). */
  truncated: boolean;
}

/**
 * A job's output (both streams, in arrival order) in a file under the state folder, so a client that reconnects
 * reads on from its cursor (a byte offset), also after the job ended. Past `maxBytes` the file stops growing; the
 * tail is still kept in memory.
 */
export class JobOutputLog {
  private readonly stream: WriteStream;
  private written = 0;
  private flushed = 0;
  private total = 0;
  private tailText = "";
  private ended = false;
  private readonly listeners = new Set<(text: string) => void>();

  private constructor(
    private readonly path: string,
    private readonly maxBytes: number,
  ) {
    this.stream = createWriteStream(path, { flags: "a", mode: 0o600 });
    this.stream.on("error", () => undefined);
  }

  static create(path: string, maxBytes: number): JobOutputLog {
    return new JobOutputLog(path, maxBytes);
  }

  /** Reads a finished job's log from disk (after a restart, or once the job ended). */
  static async readFinished(path: string, cursor: number, maxBytes: number): Promise<JobOutputRead> {
    const size = await stat(path).then(
      (info) => info.size,
      () => 0,
    );
    return { ...(await readRange(path, cursor, maxBytes, size)), eof: true, truncated: false };
  }

  static async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /** Calls `listener` with every text appended from now on; returns how to stop. */
  onText(listener: (text: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  append(text: string): void {
    if (text === "" || this.ended) return;
    for (const listener of this.listeners) listener(text);
    const bytes = Buffer.from(text, "utf8");
    this.total += bytes.length;
    this.tailText = wholeStart((this.tailText + text).slice(-OUTPUT_TAIL_CHARS));
    const room = this.maxBytes - this.written;
    // Once output was cut, nothing later goes in: the file stays the start of the output, without gaps.
    if (room <= 0 || this.total - bytes.length > this.written) return;
    const part = bytes.length <= room ? bytes : bytes.subarray(0, completeUtf8Length(bytes.subarray(0, room)));
    this.written += part.length;
    const end = this.written;
    this.stream.write(part, () => {
      this.flushed = Math.max(this.flushed, end);
    });
  }

  get bytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.written;
  }

  get tail(): string {
    return this.tailText;
  }

  async read(cursor: number, maxBytes: number): Promise<JobOutputRead> {
    const range = await readRange(this.path, cursor, maxBytes, this.flushed);
    return { ...range, eof: this.ended && range.nextCursor >= this.written, truncated: this.truncated };
  }

  /** No more output: flushes the file. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await new Promise<void>((resolve) => this.stream.end(resolve));
    this.flushed = this.written;
  }
}

async function readRange(
  path: string,
  cursor: number,
  maxBytes: number,
  available: number,
): Promise<{ text: string; cursor: number; nextCursor: number }> {
  const from = Math.min(Math.max(0, cursor), available);
  const length = Math.min(maxBytes, available - from);
  if (length <= 0) return { text: "", cursor: from, nextCursor: from };
  const file = await open(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, from);
    const whole = buffer.subarray(0, completeUtf8Length(buffer.subarray(0, bytesRead)));
    return { text: whole.toString("utf8"), cursor: from, nextCursor: from + whole.length };
  } finally {
    await file.close();
  }
}

/** The length of `bytes` without a UTF-8 sequence cut at its end (so a read never splits a character). */
export function completeUtf8Length(bytes: Buffer): number {
  let start = bytes.length - 1;
  // Walk back over continuation bytes (10xxxxxx) to the lead byte of the last sequence, at most 3.
  while (start >= 0 && bytes.length - start <= 4 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start--;
  if (start < 0) return bytes.length;
  const lead = bytes[start] ?? 0;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.length - start >= needed ? bytes.length : start;
}

/** `text` without a low surrogate at its start (the other half of a character cut off by a slice). */
function wholeStart(text: string): string {
  const first = text.charCodeAt(0);
  return first >= 0xdc00 && first <= 0xdfff ? text.slice(1) : text;
}
