import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { SessionEventStore } from "./session-event-store.js";

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: "2.0",
  method: "notifications/progress",
  params: { progressToken: 1, progress: n },
});

async function replay(
  store: SessionEventStore,
  lastEventId: string,
): Promise<{ streamId: string; events: [string, number][] }> {
  const events: [string, number][] = [];
  const streamId = await store.replayEventsAfter(lastEventId, {
    send: async (eventId, message) => {
      events.push([eventId, (message as unknown as { params: { progress: number } }).params.progress]);
    },
  });
  return { streamId, events };
}

describe("SessionEventStore", () => {
  it("replays every event after the last one a client saw, on that stream only, skipping priming events", async () => {
    const store = new SessionEventStore();
    const priming = await store.storeEvent("s1", {} as JSONRPCMessage);
    const first = await store.storeEvent("s1", note(1));
    await store.storeEvent("other", note(99));
    await store.storeEvent("s1", note(2));
    await store.storeEvent("s1", note(3));
    expect([priming, first]).toEqual(["s1/1", "s1/2"]);
    expect(await replay(store, priming)).toEqual({
      streamId: "s1",
      events: [
        ["s1/2", 1],
        ["s1/3", 2],
        ["s1/4", 3],
      ],
    });
    expect(await replay(store, first)).toEqual({
      streamId: "s1",
      events: [
        ["s1/3", 2],
        ["s1/4", 3],
      ],
    });
    expect(await replay(store, "s1/4")).toEqual({ streamId: "s1", events: [] });
    expect(await store.getStreamIdForEventId("s1/3")).toBe("s1");
  });

  it("knows ids it never issued", async () => {
    const store = new SessionEventStore();
    await store.storeEvent("s1", note(1));
    for (const id of ["s1/2", "s2/1", "s1/0", "s1/x", "nonsense", "/1"]) {
      expect(store.resumePoint(id), id).toEqual({ kind: "unknown" });
      expect(await store.getStreamIdForEventId(id)).toBeUndefined();
    }
    await expect(replay(store, "s2/1")).rejects.toThrow('Event "s2/1" cannot be replayed (unknown).');
  });

  it("keeps the last N events of a stream and says how many a late client missed", async () => {
    const store = new SessionEventStore({ eventsPerStream: 3, bytesPerStream: 1_000_000, bytesPerSession: 1_000_000 });
    for (let n = 1; n <= 6; n++) await store.storeEvent("s1", note(n));
    expect(store.resumePoint("s1/1")).toEqual({ kind: "evicted", streamId: "s1", missed: 2 });
    expect(store.resumePoint("s1/2")).toEqual({ kind: "evicted", streamId: "s1", missed: 1 });
    expect(store.resumePoint("s1/3")).toEqual({ kind: "replayable", streamId: "s1" });
    expect((await replay(store, "s1/3")).events.map(([, progress]) => progress)).toEqual([4, 5, 6]);
  });

  it("bounds the bytes of a stream, keeping at least its newest event", async () => {
    const size = JSON.stringify(note(1)).length;
    const store = new SessionEventStore({ eventsPerStream: 100, bytesPerStream: size * 2, bytesPerSession: 1_000_000 });
    for (let n = 1; n <= 5; n++) await store.storeEvent("s1", note(n));
    expect(store.totalBytes).toBe(size * 2);
    expect((await replay(store, "s1/3")).events.map(([, progress]) => progress)).toEqual([4, 5]);
    const huge = new SessionEventStore({ eventsPerStream: 100, bytesPerStream: 10, bytesPerSession: 1_000_000 });
    await huge.storeEvent("s1", note(1));
    expect(huge.resumePoint("s1/0")).toEqual({ kind: "unknown" });
    expect(huge.totalBytes).toBe(size);
  });

  it("bounds a session's bytes by dropping the least recently written streams first", async () => {
    const size = JSON.stringify(note(1)).length;
    const store = new SessionEventStore({ eventsPerStream: 100, bytesPerStream: 1_000_000, bytesPerSession: size * 4 });
    await store.storeEvent("old", note(1));
    await store.storeEvent("old", note(2));
    await store.storeEvent("busy", note(1));
    await store.storeEvent("busy", note(2));
    await store.storeEvent("busy", note(3));
    expect(store.totalBytes).toBe(size * 3);
    expect(store.resumePoint("old/1")).toEqual({ kind: "evicted", streamId: "old", missed: 1 });
    expect(store.resumePoint("old/2")).toEqual({ kind: "replayable", streamId: "old" });
    expect((await replay(store, "busy/1")).events.map(([, progress]) => progress)).toEqual([2, 3]);
  });

  it("replays events stored while the replay is under way", async () => {
    const store = new SessionEventStore();
    await store.storeEvent("s1", note(1));
    await store.storeEvent("s1", note(2));
    const seen: number[] = [];
    await store.replayEventsAfter("s1/1", {
      send: async (_eventId, message) => {
        const progress = (message as unknown as { params: { progress: number } }).params.progress;
        seen.push(progress);
        if (progress === 2) await store.storeEvent("s1", note(3));
      },
    });
    expect(seen).toEqual([2, 3]);
  });
});
