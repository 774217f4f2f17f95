import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { createSqliteStateStore } from "../store/sqlite-state-store.js";
import type { StateStore } from "../store/state-store.js";
import { ACTIVITY_THROTTLE_MS, RunnerActivity } from "./runner-activity.js";

describe("RunnerActivity", () => {
  let store: StateStore | undefined;
  afterEach(() => store?.close());

  it("writes a runner's and its workspace's last use at most once per throttle interval", () => {
    store = createSqliteStateStore(":memory:");
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const activity = new RunnerActivity(store, createLogger("silent"), () => now);
    activity.touch("alice", "r-000000000001", "proj");
    now += ACTIVITY_THROTTLE_MS - 1;
    activity.touch("alice", "r-000000000001", "proj");
    expect(store.runnerActivity("alice").get("r-000000000001")).toBe("2026-01-01T00:00:00.000Z");
    now += 1;
    activity.touch("alice", "r-000000000001", "proj");
    expect(store.runnerActivity("alice").get("r-000000000001")).toBe("2026-01-01T00:00:30.000Z");
    expect(store.workspaceActivity("alice").get("proj")).toBe("2026-01-01T00:00:30.000Z");
    expect(store.runnerActivity("bob").size).toBe(0);
  });

  it("records spawns and attaches at once, whatever the throttle says", () => {
    store = createSqliteStateStore(":memory:");
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const activity = new RunnerActivity(store, createLogger("silent"), () => now);
    activity.touch("alice", "r-000000000001", undefined);
    now += 1000;
    activity.touchNow("alice", "r-000000000001", undefined);
    expect(store.runnerActivity("alice").get("r-000000000001")).toBe("2026-01-01T00:00:01.000Z");
  });

  it("never fails the call that used the runner when the store cannot record", () => {
    store = createSqliteStateStore(":memory:");
    const closed = store;
    closed.close();
    store = undefined;
    const activity = new RunnerActivity(closed, createLogger("silent"));
    expect(() => activity.touch("alice", "r-000000000001", "proj")).not.toThrow();
  });
});
