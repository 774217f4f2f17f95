import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ChangeKind, ResyncReason, WatchEndReason, WatchState } from "@devhatchery/proto/agent/v1/watch";
import {
  changesIn,
  changesUntil,
  followWatch,
  listWatches,
  startWatch,
  startWatchAgent,
  summarizeChanges,
} from "../../test/agent-harness.js";

const { CHANGE_KIND_CREATED: CREATED, CHANGE_KIND_DELETED: DELETED } = ChangeKind;

describe("WatchService limits", () => {
  it("records a burst larger than one batch may hold as an event-overflow resync", async () => {
    const agent = await startWatchAgent({ maxBatchChanges: 5 });
    try {
      const watch = await startWatch(agent.watch, { path: ".", debounceMs: 100 });
      const follower = followWatch(agent.watch, { watchId: watch.watchId });
      for (let i = 0; i < 8; i += 1) writeFileSync(join(agent.workDir, `file-${i}`), "x");
      expect((await follower.next()).event).toEqual({
        $case: "resync",
        value: {
          reason: ResyncReason.RESYNC_REASON_EVENT_OVERFLOW,
          message: `8 changes arrived within one batch, more than the limit of 5; they were not recorded one by one. Re-list "${agent.workDir}".`,
        },
      });
      writeFileSync(join(agent.workDir, "after"), "x");
      expect(summarizeChanges(await changesUntil(follower, "after"))).toEqual([[CREATED, "after"]]);
      follower.cancel();
    } finally {
      await agent.close();
    }
  });

  it("reports a burst that fills the kernel's inotify queue as a queue-overflow resync, and scans the tree again", async () => {
    const agent = await startWatchAgent({ inotifyQueueCapacity: 20 });
    try {
      const watch = await startWatch(agent.watch, { path: ".", debounceMs: 100 });
      const follower = followWatch(agent.watch, { watchId: watch.watchId });
      await expect.poll(async () => (await listWatches(agent.watch))[0]?.readers, { timeout: 5_000 }).toBe(1);
      // Written while the agent's event loop is blocked, as a busy agent would be: one read delivers them all.
      for (let i = 0; i < 15; i += 1) writeFileSync(join(agent.workDir, `burst-${i}`), "x");
      mkdirSync(join(agent.workDir, "burst-dir"));
      expect((await follower.next()).event).toEqual({
        $case: "resync",
        value: {
          reason: ResyncReason.RESYNC_REASON_QUEUE_OVERFLOW,
          message:
            `A burst of changes probably overflowed the kernel's inotify queue (fs.inotify.max_queued_events = 20), so changes under "${agent.workDir}" were likely lost; ` +
            `re-list "${agent.workDir}". The agent scanned it again and goes on watching.`,
        },
      });
      // The scan recorded what the burst made: later changes to it are reported as usual.
      expect((await listWatches(agent.watch))[0]?.watchedDirectories).toBe(2);
      rmSync(join(agent.workDir, "burst-3"));
      writeFileSync(join(agent.workDir, "burst-dir/inner"), "x");
      expect(summarizeChanges(await changesUntil(follower, "burst-dir/inner"))).toEqual([
        [DELETED, "burst-3"],
        [CREATED, "burst-dir/inner"],
      ]);
      follower.cancel();
    } finally {
      await agent.close();
    }
  });

  it("refuses more watches than the agent allows", async () => {
    const agent = await startWatchAgent({ maxWatches: 1 });
    try {
      await startWatch(agent.watch, { path: "." });
      await expect(startWatch(agent.watch, { path: "." })).rejects.toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details:
          "The agent's limit of 1 watches is reached; close watches you no longer need (CloseWatch) or reuse one (ListWatches).",
      });
    } finally {
      await agent.close();
    }
  });

  it("refuses a watch needing more directories than the agent allows, holding none of them", async () => {
    const agent = await startWatchAgent({ maxWatchedDirectories: 3 });
    try {
      for (const name of ["a", "b", "c", "d"]) mkdirSync(join(agent.workDir, "big", name), { recursive: true });
      await expect(startWatch(agent.watch, { path: "big" })).rejects.toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(
          new RegExp(
            `^Cannot watch "${agent.workDir}/big/[a-d]": the agent's limit of 3 watched directories is reached \\(one inotify watch each, across all watches\\)\\. Narrow the path, add ignore patterns for large generated directories, or close watches you no longer need\\.$`,
          ),
        ),
      });
      expect(await listWatches(agent.watch)).toEqual([]);
      const narrowed = await startWatch(agent.watch, { path: "big", ignore: ["c/", "d/"] });
      expect(narrowed.watchedDirectories).toBe(3);
    } finally {
      await agent.close();
    }
  });

  it("ends a watch with WATCH_LIMIT and RESOURCE_EXHAUSTED when a new directory exceeds the limit", async () => {
    const agent = await startWatchAgent({ maxWatchedDirectories: 2 });
    try {
      const watch = await startWatch(agent.watch, { path: ".", debounceMs: 100 });
      const follower = followWatch(agent.watch, { watchId: watch.watchId });
      mkdirSync(join(agent.workDir, "one"));
      expect(summarizeChanges(await changesUntil(follower, "one"))).toEqual([[CREATED, "one"]]);
      mkdirSync(join(agent.workDir, "two"));
      const message = `Cannot watch "${agent.workDir}/two": the agent's limit of 2 watched directories is reached (one inotify watch each, across all watches). Narrow the path, add ignore patterns for large generated directories, or close watches you no longer need.`;
      const ended = await follower.next((event) => event.event?.$case === "ended");
      expect(ended.event).toEqual({
        $case: "ended",
        value: { reason: WatchEndReason.WATCH_END_REASON_WATCH_LIMIT, message },
      });
      expect(summarizeChanges(follower.events.flatMap(changesIn))).toEqual([
        [CREATED, "one"],
        [CREATED, "two"],
      ]);
      expect(await follower.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: message });
      expect((await listWatches(agent.watch))[0]).toMatchObject({
        state: WatchState.WATCH_STATE_ENDED,
        endReason: WatchEndReason.WATCH_END_REASON_WATCH_LIMIT,
        watchedDirectories: 0,
      });
    } finally {
      await agent.close();
    }
  });
});
