import type { ExecChunk } from "./exec.js";

/** Marker put where the middle of a stream was cut: how much, and the cursor from which exec_read returns it. */
export function omittedMarker(stream: "stdout" | "stderr", bytes: number, cursor: number): string {
  return `\n[… ${bytes} bytes of ${stream} omitted; read them with exec_read cursor=${cursor} …]\n`;
}

class StreamExcerpt {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;
  /** The log cursor right after the last byte kept in the head: where the omitted middle starts. */
  private headEndCursor = 0;

  constructor(
    private readonly stream: "stdout" | "stderr",
    private readonly headCap: number,
    private readonly tailCap: number,
  ) {}

  get omittedBytes(): number {
    return this.total - this.headBytes - this.tailBytes;
  }

  add(data: Buffer, cursor: number): void {
    this.total += data.length;
    if (this.headBytes < this.headCap) {
      const take = data.subarray(0, this.headCap - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      this.headEndCursor = cursor + take.length;
      data = data.subarray(take.length);
    }
    if (data.length === 0) return;
    this.tail.push(data);
    this.tailBytes += data.length;
    let excess = this.tailBytes - this.tailCap;
    while (excess > 0) {
      const first = this.tail[0]!;
      const cut = Math.min(first.length, excess);
      if (cut === first.length) this.tail.shift();
      else this.tail[0] = first.subarray(cut);
      this.tailBytes -= cut;
      excess -= cut;
    }
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    const tail = Buffer.concat(this.tail).toString("utf8");
    return this.omittedBytes === 0
      ? head + tail
      : head + omittedMarker(this.stream, this.omittedBytes, this.headEndCursor) + tail;
  }
}

/**
 * Keeps a bounded copy of a process's output per stream: the first and the last half of `capBytes`. Longer output
 * is cut in the middle with a marker naming the cursor from which exec_read returns what was left out.
 */
export class ExecOutputExcerpt {
  private readonly streams;

  constructor(capBytes: number) {
    const headCap = Math.floor(capBytes / 2);
    this.streams = {
      stdout: new StreamExcerpt("stdout", headCap, capBytes - headCap),
      stderr: new StreamExcerpt("stderr", headCap, capBytes - headCap),
    };
  }

  get omittedBytes(): number {
    return this.streams.stdout.omittedBytes + this.streams.stderr.omittedBytes;
  }

  add(chunk: ExecChunk): void {
    this.streams[chunk.stream].add(chunk.data, chunk.cursor);
  }

  text(stream: "stdout" | "stderr"): string {
    return this.streams[stream].text();
  }
}
