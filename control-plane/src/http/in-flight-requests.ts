/** Counts requests being answered so shutdown can wait for them, up to a grace period. */
export class InFlightRequests {
  private active = 0;
  private readonly idleWaiters = new Set<() => void>();

  get count(): number {
    return this.active;
  }

  /** Marks one request as started; call the returned function once when it is answered (more calls are ignored). */
  begin(): () => void {
    this.active++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.active === 0) for (const wake of [...this.idleWaiters]) wake();
    };
  }

  /** Resolves when no request is in flight, or after `graceMs`, whichever comes first. */
  async idle(graceMs: number): Promise<void> {
    if (this.active === 0) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, graceMs);
      this.idleWaiters.add(done);
    });
  }
}
