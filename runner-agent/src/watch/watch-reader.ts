import type { WatchHistory } from "./watch-history.js";
import type { ReaderRecord } from "./watch-record.js";

/** Where a reader's records go; `write` returning false pauses the reader until it is resumed. */
export interface RecordSink {
  write(record: ReaderRecord): boolean;
}

/**
 * One reader following a watch from a cursor. It pulls from the history rather than being pushed to, so a slow
 * reader only falls behind (and gets a history-overflow resync) instead of growing the agent's memory.
 */
export class WatchReader {
  private paused = false;
  private done = false;
  private keepaliveTimer: NodeJS.Timeout | undefined;

  constructor(
    private cursor: number,
    private readonly history: WatchHistory,
    private readonly sink: RecordSink,
    private readonly keepaliveMs: number,
  ) {}

  /** Sends every record after the reader's cursor, until the sink asks to pause or the watch's end is sent. */
  pump(): void {
    if (this.done) return;
    let sent = false;
    while (!this.paused && !this.done) {
      const record = this.history.next(this.cursor);
      if (!record) break;
      this.cursor = record.cursor;
      this.done = record.type === "ended";
      this.paused = !this.sink.write(record);
      sent = true;
    }
    if (sent || !this.keepaliveTimer) this.armKeepalive();
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  close(): void {
    this.done = true;
    clearTimeout(this.keepaliveTimer);
  }

  private armKeepalive(): void {
    clearTimeout(this.keepaliveTimer);
    if (this.done) return;
    this.keepaliveTimer = setTimeout(() => {
      this.keepaliveTimer = undefined;
      if (this.done) return;
      if (!this.paused) this.paused = !this.sink.write({ type: "keepalive", cursor: this.cursor, timeMs: Date.now() });
      this.armKeepalive();
    }, this.keepaliveMs);
  }
}
