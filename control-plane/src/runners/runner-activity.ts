import type { Logger } from "../log.js";
import type { StateStore } from "../store/state-store.js";

/** Activity is written to the store at most this often per runner; list shows it to the nearest such interval. */
export const ACTIVITY_THROTTLE_MS = 30_000;

/** Records the last use of runners and their workspaces in the store, throttled so busy runners do not write on every call. */
export class RunnerActivity {
  private readonly lastWrite = new Map<string, number>();

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes a call that used the runner (and its workspace); writes at most once per ACTIVITY_THROTTLE_MS per runner. */
  touch(principal: string, runnerId: string, workspaceKey: string | undefined): void {
    const now = this.now();
    const last = this.lastWrite.get(runnerId);
    if (last !== undefined && now - last < ACTIVITY_THROTTLE_MS) return;
    this.lastWrite.set(runnerId, now);
    this.write(principal, runnerId, workspaceKey, now);
  }

  /** Records a use now, whatever the throttle says (spawn, attach). */
  touchNow(principal: string, runnerId: string, workspaceKey: string | undefined): void {
    const now = this.now();
    this.lastWrite.set(runnerId, now);
    this.write(principal, runnerId, workspaceKey, now);
  }

  forget(runnerId: string): void {
    this.lastWrite.delete(runnerId);
  }

  private write(principal: string, runnerId: string, workspaceKey: string | undefined, now: number): void {
    const at = new Date(now).toISOString();
    try {
      this.store.touchRunner(principal, runnerId, at);
      if (workspaceKey) this.store.touchWorkspace(principal, workspaceKey, at);
    } catch (error) {
      // Activity is informational: a store hiccup must not fail the call that used the runner.
      this.log.warn({ err: error, runner: runnerId }, "could not record runner activity");
    }
  }
}
