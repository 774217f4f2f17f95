import { describe, expect, it } from "vitest";
import { SessionWatches, WATCH_IDLE_MS } from "./session-watches.js";

describe("SessionWatches", () => {
  it("refuses a watch past the limit, naming it, and counts a watch until the agent closes it for idleness", async () => {
    let now = 1_000_000;
    const watches = new SessionWatches(2, () => now);
    await watches.start("r-1", async () => ({ watchId: "w1" }));
    now += WATCH_IDLE_MS / 2;
    await watches.start("r-1", async () => ({ watchId: "w2" }));
    let started = false;
    await expect(watches.start("r-2", async () => ((started = true), { watchId: "w3" }))).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      message:
        "Cannot start another watch: this session has 2 open watches and the limit is 2 (sessions.max_watches); a watch closes after 10 minutes without fs_changes calls. " +
        "Close one you no longer need with fs_unwatch, reuse a watch you have (one recursive watch covers a whole tree), or ask the operator to raise sessions.max_watches (DEVHATCHERY_MAX_WATCHES).",
    });
    expect(started).toBe(false);
    // w1 was read just before it would have idled out; w2 was not read again and is closed by its agent.
    now += WATCH_IDLE_MS / 2 - 1;
    watches.used("r-1", "w1");
    now += WATCH_IDLE_MS / 2 + 1;
    expect(watches.size).toBe(1);
    await watches.start("r-2", async () => ({ watchId: "w3" }));
    watches.forget("r-1", "w1");
    expect(watches.size).toBe(1);
  });

  it("counts watches still starting, so concurrent calls cannot pass the limit", async () => {
    const watches = new SessionWatches(1);
    let release: () => void = () => undefined;
    const first = watches.start(
      "r-1",
      () => new Promise<{ watchId: string }>((resolve) => (release = () => resolve({ watchId: "w1" }))),
    );
    await expect(watches.start("r-1", async () => ({ watchId: "w2" }))).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
    });
    release();
    await first;
    expect(watches.size).toBe(1);
  });
});
