/**
 * Serializes work on paths inside the agent: `run` waits until no earlier holder of any of the given paths is
 * still running, then runs. All paths are taken at once in one synchronous step, so two callers can never wait on
 * each other (no deadlock). Used to make check-then-rename sequences atomic among the agent's own writers.
 */
export class PathLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(paths: readonly string[], work: () => Promise<T>): Promise<T> {
    const keys = [...new Set(paths)];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const earlier = keys.map((key) => this.tails.get(key));
    for (const key of keys) this.tails.set(key, held);
    await Promise.all(earlier);
    try {
      return await work();
    } finally {
      release();
      for (const key of keys) if (this.tails.get(key) === held) this.tails.delete(key);
    }
  }

  /** Paths currently held or awaited (for tests and the debug endpoint). */
  get size(): number {
    return this.tails.size;
  }
}
