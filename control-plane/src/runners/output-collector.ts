/**
 * Keeps a bounded copy of a stream's output: the first and the last `capBytes / 2` bytes. When more arrived,
 * the text is cut in the middle with a marker saying how many bytes were left out.
 */
export class OutputCollector {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(private readonly capBytes: number) {}

  get totalBytes(): number {
    return this.total;
  }

  get omittedBytes(): number {
    return this.total - this.headBytes - this.tailBytes;
  }

  add(data: Buffer): void {
    this.total += data.length;
    const half = Math.floor(this.capBytes / 2);
    if (this.headBytes < half) {
      const take = data.subarray(0, half - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      data = data.subarray(take.length);
    }
    if (data.length === 0) return;
    this.tail.push(data);
    this.tailBytes += data.length;
    while (this.tailBytes > this.capBytes - half && this.tail.length > 0) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - (this.capBytes - half);
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
      }
    }
  }

  /** The collected output as UTF-8 text, with a marker where bytes were left out. */
  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    const tail = Buffer.concat(this.tail).toString("utf8");
    if (this.omittedBytes === 0) return head + tail;
    return `${head}\n[… ${this.omittedBytes} bytes omitted …]\n${tail}`;
  }
}
