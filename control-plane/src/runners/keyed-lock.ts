/** An in-process mutex per key: calls for one key run one after another, calls for different keys in parallel. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task for `key` has settled; its result or error is passed through. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => tail);
    this.tails.set(key, chained);
    await previous;
    try {
      return await task();
    } finally {
      release();
      // The last waiter for a key removes it, so idle keys hold no memory.
      if (this.tails.get(key) === chained) this.tails.delete(key);
    }
  }

  /** Keys with a task running or waiting (for tests and debugging). */
  get size(): number {
    return this.tails.size;
  }
}
