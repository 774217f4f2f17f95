/** Largest total allocated up front; beyond it chunks are kept as they come and joined at the end. */
const MAX_PREALLOCATED_BYTES = 512 * 1024 * 1024;

/**
 * Gathers streamed chunks into one Buffer. With the expected total known, chunks are copied into a buffer of that
 * size as they arrive (no second copy of everything at the end); more bytes than expected still work.
 */
export class ByteCollector {
  private buffer: Buffer | undefined;
  private filled = 0;
  private readonly overflow: Uint8Array[] = [];

  /** Sets the size to expect; call before the first chunk. */
  expect(bytes: number): void {
    if (this.filled === 0 && this.overflow.length === 0 && bytes > 0 && bytes <= MAX_PREALLOCATED_BYTES)
      this.buffer = Buffer.allocUnsafe(bytes);
  }

  push(chunk: Uint8Array): void {
    if (this.buffer && this.overflow.length === 0 && this.filled + chunk.length <= this.buffer.length) {
      this.buffer.set(chunk, this.filled);
      this.filled += chunk.length;
    } else {
      this.overflow.push(chunk);
    }
  }

  result(): Buffer {
    const head = this.buffer ? this.buffer.subarray(0, this.filled) : Buffer.alloc(0);
    return this.overflow.length === 0 ? head : Buffer.concat([head, ...this.overflow]);
  }
}
