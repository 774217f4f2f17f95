import { ControlPlaneError } from "../errors.js";

/** A watch the agent has not been asked about (fs_changes) for this long is closed by the agent, so it stops counting. */
export const WATCH_IDLE_MS = 10 * 60 * 1000;

/**
 * The watches one session started with fs_watch and that may still be open in their runners: at most `limit`
 * (sessions.max_watches). A watch counts until it went WATCH_IDLE_MS without fs_changes calls from this session,
 * when its agent closes it.
 */
export class SessionWatches {
  private readonly lastUsed = new Map<string, number>();
  private starting = 0;

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `start` if the session may open one more watch, and counts the watch it returns. */
  async start<T extends { watchId: string }>(runnerId: string, start: () => Promise<T>): Promise<T> {
    this.forgetIdle();
    const open = this.lastUsed.size + this.starting;
    if (open >= this.limit) {
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `Cannot start another watch: this session has ${open} open watches and the limit is ${this.limit} (sessions.max_watches); ` +
          `a watch closes after ${WATCH_IDLE_MS / 60_000} minutes without fs_changes calls. Close one you no longer need with fs_unwatch, reuse a watch you have (one recursive watch covers a whole tree), ` +
          "or ask the operator to raise sessions.max_watches (DEVHATCHERY_MAX_WATCHES).",
        {
          hint: `Close a watch you no longer need with fs_unwatch, or keep reading one you have with fs_changes (one recursive fs_watch covers a whole tree); a watch left ${WATCH_IDLE_MS / 60_000} minutes without fs_changes closes and frees its place.`,
        },
      );
    }
    this.starting++;
    try {
      const watch = await start();
      this.lastUsed.set(key(runnerId, watch.watchId), this.now());
      return watch;
    } finally {
      this.starting--;
    }
  }

  /** fs_changes read the watch: it stays open for another WATCH_IDLE_MS. */
  used(runnerId: string, watchId: string): void {
    const id = key(runnerId, watchId);
    if (this.lastUsed.has(id)) this.lastUsed.set(id, this.now());
  }

  /** Whether this session started the watch (and it has not gone idle). */
  has(runnerId: string, watchId: string): boolean {
    this.forgetIdle();
    return this.lastUsed.has(key(runnerId, watchId));
  }

  /** The watch is gone (its runner no longer has it). */
  forget(runnerId: string, watchId: string): void {
    this.lastUsed.delete(key(runnerId, watchId));
  }

  get size(): number {
    this.forgetIdle();
    return this.lastUsed.size;
  }

  private forgetIdle(): void {
    const cutoff = this.now() - WATCH_IDLE_MS;
    for (const [id, used] of this.lastUsed) if (used <= cutoff) this.lastUsed.delete(id);
  }
}

function key(runnerId: string, watchId: string): string {
  return `${runnerId}/${watchId}`;
}
