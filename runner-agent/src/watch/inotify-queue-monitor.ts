import { readFileSync } from "node:fs";

const MAX_QUEUED_EVENTS = "/proc/sys/fs/inotify/max_queued_events";
const DEFAULT_QUEUE_CAPACITY = 16_384;

/**
 * Spots bursts that probably overflowed the kernel's inotify queue. All of the agent's watchers share one queue
 * that Node reads until it is empty in one go, and Node drops the kernel's overflow notice. So a burst that
 * reaches the queue's capacity (fs.inotify.max_queued_events) within one read means events were likely lost.
 */
export class InotifyQueueMonitor {
  private burst = 0;
  private resetting = false;
  private tripped = false;
  private readonly listeners = new Set<() => void>();

  constructor(readonly capacity: number) {}

  /** Counts one notification of the current read. */
  record(): void {
    this.burst += 1;
    if (!this.resetting) {
      this.resetting = true;
      // Immediates run after the poll phase that delivered this read's notifications: the burst is over.
      setImmediate(() => {
        this.burst = 0;
        this.resetting = false;
        this.tripped = false;
      });
    }
    if (this.burst < this.capacity || this.tripped) return;
    this.tripped = true;
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` on every probable overflow; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The kernel's inotify queue length (fs.inotify.max_queued_events), or its usual default when unreadable. */
export function readInotifyQueueCapacity(): number {
  try {
    return Number.parseInt(readFileSync(MAX_QUEUED_EVENTS, "utf8"), 10) || DEFAULT_QUEUE_CAPACITY;
  } catch {
    return DEFAULT_QUEUE_CAPACITY;
  }
}
