import type { NewRecord, WatchRecord } from "./watch-record.js";

/**
 * A watch's recent records, numbered by a cursor that only grows. It keeps at most `limit` records and at most
 * `maxChanges` changes in all (always the newest record); older ones are dropped first.
 */
export class WatchHistory {
  private readonly records: WatchRecord[] = [];
  private changesKept = 0;
  private latestCursor = 0;

  constructor(
    private readonly limit: number,
    private readonly maxChanges: number,
  ) {}

  /** The latest record's cursor; 0 before the first. */
  get cursor(): number {
    return this.latestCursor;
  }

  /** The oldest kept record's cursor; cursor + 1 when nothing is kept. */
  get oldestCursor(): number {
    return this.records[0]?.cursor ?? this.latestCursor + 1;
  }

  append(record: NewRecord): WatchRecord {
    const numbered = { ...record, cursor: ++this.latestCursor, timeMs: Date.now() } as WatchRecord;
    this.records.push(numbered);
    this.changesKept += changesIn(numbered);
    while (this.records.length > 1 && (this.records.length > this.limit || this.changesKept > this.maxChanges)) {
      this.changesKept -= changesIn(this.records.shift()!);
    }
    return numbered;
  }

  /**
   * The record right after `cursor`, or undefined when there is none yet. When records after `cursor` were
   * dropped, it is a history-overflow resync whose cursor lets the reader continue with the oldest kept record.
   */
  next(cursor: number): WatchRecord | undefined {
    const oldest = this.oldestCursor;
    if (cursor < oldest - 1) {
      return {
        type: "resync",
        cursor: oldest - 1,
        timeMs: Date.now(),
        reason: "history_overflow",
        message: `Events after cursor ${cursor} up to ${oldest - 1} were dropped from this watch's history (it keeps at most ${this.limit} events and ${this.maxChanges} changes); re-list the tree, then continue from cursor ${oldest - 1}.`,
      };
    }
    return this.records[cursor + 1 - oldest];
  }
}

function changesIn(record: WatchRecord): number {
  return record.type === "changes" ? record.changes.length : 0;
}
