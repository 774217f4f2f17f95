import { chunkEnd, type OutputChunk } from "./output-chunk.js";

/** Contiguous output chunks in cursor order: append at the back, drop from the front, find by cursor. */
export class ChunkQueue {
  private items: OutputChunk[] = [];
  private head = 0;
  private byteCount = 0;

  get bytes(): number {
    return this.byteCount;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** The first chunk, if any. */
  first(): OutputChunk | undefined {
    return this.items[this.head];
  }

  push(chunk: OutputChunk): void {
    this.items.push(chunk);
    this.byteCount += chunk.data.length;
  }

  shift(): OutputChunk | undefined {
    const chunk = this.items[this.head];
    if (!chunk) return undefined;
    this.items[this.head] = undefined as unknown as OutputChunk;
    this.head++;
    this.byteCount -= chunk.data.length;
    // Compact now and then so dropping from the front stays O(1) amortised without holding dead slots.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return chunk;
  }

  /** Index (for `at`) of the chunk holding `cursor`, or of the first chunk after it; `length` when none. */
  indexOf(cursor: number): number {
    let low = this.head;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (chunkEnd(this.items[mid]!) <= cursor) low = mid + 1;
      else high = mid;
    }
    return low - this.head;
  }

  at(index: number): OutputChunk | undefined {
    return this.items[this.head + index];
  }
}
