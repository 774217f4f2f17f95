import { AgentError } from "../errors.js";
import type { Logger } from "../log.js";
import { ChunkQueue } from "./chunk-queue.js";
import { chunkEnd, sliceChunkFrom, sliceChunkTo, type OutputChunk, type OutputStreamName } from "./output-chunk.js";
import type { SpillSegments } from "./spill-segments.js";

/** What a read at a cursor finds: the chunks after it, or a gap the cap dropped (read on from cursor + bytes). */
export type LogRead = { kind: "chunks"; chunks: OutputChunk[] } | { kind: "dropped"; cursor: number; bytes: number };

export interface OutputLogOptions {
  /** Used in error messages: the process the log belongs to. */
  execId: string;
  ringBytes: number;
  maxBytes: number;
  /** Where older output goes; undefined keeps only the newest ringBytes (older output is dropped). */
  spill: SpillSegments | undefined;
  /** Called with true when the writer falls behind (the source should pause) and false when it caught up. */
  onPressure(paused: boolean): void;
  /** Called after output was written to the spill files (the runner-wide budget is checked then). */
  onSpilled?(): void;
  log: Logger;
}

/** A finished log keeps at most this much in memory; a larger one lives on disk only. */
const FINISHED_MEMORY_BYTES = 64 * 1024;
const SPILL_BATCH_BYTES = 1024 * 1024;

/**
 * A process's output log: every byte addressed by a cursor, the newest `ringBytes` in memory and the rest in spill
 * files, at most `maxBytes` in all (the oldest is dropped past it). Appends never wait: the log asks its source to
 * pause only while spill writes lag more than `ringBytes` behind, so memory stays near 2 × ringBytes.
 */
export class OutputLog {
  private readonly memory = new ChunkQueue();
  private seq = 0;
  private endCursor = 0;
  private startCursor = 0;
  /** Everything before this cursor is on disk (or dropped). */
  private spilledCursor = 0;
  private writing = false;
  private paused = false;
  private spill: SpillSegments | undefined;
  private isClosed = false;
  private isDestroyed = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: OutputLogOptions) {
    this.spill = options.spill;
  }

  get end(): number {
    return this.endCursor;
  }

  get start(): number {
    return this.startCursor;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get memoryBytes(): number {
    return this.memory.bytes;
  }

  get spilledBytes(): number {
    return this.spill?.bytes ?? 0;
  }

  append(stream: OutputStreamName, data: Buffer): void {
    if (this.isClosed || data.length === 0) return;
    this.memory.push({ seq: ++this.seq, stream, cursor: this.endCursor, data });
    this.endCursor += data.length;
    this.settle();
    this.notify();
  }

  /** No more output will come: the log moves to disk if it is large, and readers at the end learn it is over. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.settle();
    this.notify();
  }

  /** Chunks after `cursor` (up to about maxBytes), a dropped gap, or no chunks when the reader is at the end. */
  async read(cursor: number, maxBytes: number): Promise<LogRead> {
    // A segment can be dropped by the cap while we read it; the next attempt then finds a dropped gap.
    for (let attempt = 0; ; attempt++) {
      this.assertReadable(cursor);
      if (cursor < this.startCursor) return { kind: "dropped", cursor, bytes: this.startCursor - cursor };
      const memoryStart = this.memory.first()?.cursor ?? this.endCursor;
      if (cursor >= memoryStart) return { kind: "chunks", chunks: this.readMemory(cursor, maxBytes) };
      try {
        const chunks = (await this.spill?.read(cursor, maxBytes)) ?? [];
        if (chunks.length > 0) return { kind: "chunks", chunks };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 3) throw error;
      }
      if (attempt >= 3) throw new Error(`output log of ${this.options.execId} has no data at cursor ${cursor}`);
    }
  }

  /** Resolves true when there is output after `cursor` or the log closed; false after `timeoutMs` or on abort. */
  waitForMore(cursor: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.endCursor > cursor || this.isClosed || this.isDestroyed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal?.removeEventListener("abort", abort);
        resolve(result);
      };
      const wake = (): void => done(true);
      const abort = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(wake);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  /**
   * Drops the oldest spill segment for the runner-wide output budget; returns the bytes it held, 0 when nothing may go
   * (a running log keeps its newest segment, and the segment being written stays). Readers get a dropped gap.
   */
  dropOldestSpill(): number {
    const spill = this.spill;
    if (!spill || spill.count === 0 || ((!this.isClosed || this.writing) && spill.count <= 1)) return 0;
    const before = spill.bytes;
    this.startCursor = Math.max(this.startCursor, spill.dropOldest() ?? this.spilledCursor);
    this.trimMemory();
    return before - spill.bytes;
  }

  /** Deletes the spill files; later reads fail with NOT_FOUND. */
  async destroy(): Promise<void> {
    this.isDestroyed = true;
    this.isClosed = true;
    while (this.memory.shift());
    this.notify();
    const spill = this.spill;
    this.spill = undefined;
    await spill?.destroy();
  }

  private assertReadable(cursor: number): void {
    if (this.isDestroyed) {
      throw new AgentError(
        "NOT_FOUND",
        `Exec "${this.options.execId}" was reaped and its output deleted; start the command again.`,
      );
    }
    if (cursor > this.endCursor) {
      throw new AgentError(
        "INVALID_ARGUMENT",
        `Cursor ${cursor} is past the end of exec "${this.options.execId}" output (${this.endCursor} bytes); resume from a chunk's cursor plus its length, or from 0.`,
      );
    }
  }

  private readMemory(cursor: number, maxBytes: number): OutputChunk[] {
    const chunks: OutputChunk[] = [];
    let taken = 0;
    for (let index = this.memory.indexOf(cursor); taken < maxBytes; index++) {
      const chunk = this.memory.at(index);
      if (!chunk) break;
      const piece = sliceChunkTo(sliceChunkFrom(chunk, cursor), maxBytes - taken);
      chunks.push(piece);
      taken += piece.data.length;
    }
    return chunks;
  }

  /** Starts spill writes when they are due, trims memory and applies the cap, and updates the pause signal. */
  private settle(): void {
    if (this.spill && this.spilledCursor < this.endCursor && this.isSpillDue() && !this.writing) void this.writeSpill();
    // New output counts against the cap at once: older segments go now, not only after the next spill write.
    this.applyCap();
    this.trimMemory();
    this.updatePressure();
  }

  private isSpillDue(): boolean {
    return this.endCursor > this.options.ringBytes || (this.isClosed && this.memory.bytes > FINISHED_MEMORY_BYTES);
  }

  private async writeSpill(): Promise<void> {
    this.writing = true;
    try {
      while (this.spill && this.spilledCursor < this.endCursor && !this.isDestroyed) {
        const batch = this.unspilled();
        await this.spill.append(batch);
        this.spilledCursor = chunkEnd(batch.at(-1)!);
        this.applyCap();
        this.trimMemory();
        this.updatePressure();
        this.options.onSpilled?.();
      }
    } catch (error) {
      if (!this.isDestroyed) {
        // The disk is full or gone: keep going in memory only, dropping the oldest output instead of blocking.
        this.options.log.warn(
          { exec: this.options.execId, err: error },
          "output spill failed; keeping only the newest output in memory",
        );
        void this.spill?.destroy().catch(() => undefined);
        this.spill = undefined;
        this.startCursor = Math.max(this.startCursor, this.memory.first()?.cursor ?? this.endCursor);
      }
    } finally {
      this.writing = false;
    }
    this.trimMemory();
    this.updatePressure();
  }

  private unspilled(): OutputChunk[] {
    const batch: OutputChunk[] = [];
    let bytes = 0;
    for (let index = this.memory.indexOf(this.spilledCursor); bytes < SPILL_BATCH_BYTES; index++) {
      const chunk = this.memory.at(index);
      if (!chunk) break;
      batch.push(chunk);
      bytes += chunk.data.length;
    }
    return batch;
  }

  private applyCap(): void {
    while (this.spill && this.endCursor - this.startCursor > this.options.maxBytes && this.spill.count > 1) {
      this.startCursor = Math.max(this.startCursor, this.spill.dropOldest() ?? this.spilledCursor);
    }
  }

  /** Drops chunks from memory: those already on disk beyond the ring (or all of them once the log closed). */
  private trimMemory(): void {
    const target =
      this.isClosed && this.spill && this.spilledCursor === this.endCursor && this.isSpillDue()
        ? 0
        : this.options.ringBytes;
    for (
      let first = this.memory.first();
      first && (this.memory.bytes > target || chunkEnd(first) <= this.startCursor);
      first = this.memory.first()
    ) {
      const onDisk = this.spill !== undefined && chunkEnd(first) <= this.spilledCursor;
      if (!onDisk && this.spill) break;
      this.memory.shift();
      // Without a spill file, what leaves memory is gone: the cap is the ring.
      if (!onDisk) this.startCursor = Math.max(this.startCursor, chunkEnd(first));
    }
  }

  private updatePressure(): void {
    const lagging =
      this.spill !== undefined && this.endCursor - this.spilledCursor > this.options.ringBytes && !this.isClosed;
    if (lagging !== this.paused) {
      this.paused = lagging;
      this.options.onPressure(lagging);
    }
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
