import { setImmediate as nextTurn } from "node:timers/promises";
import type { EventStore } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** How much of each SSE stream a session keeps for clients that reconnect with Last-Event-ID. */
export interface EventStoreLimits {
  eventsPerStream: number;
  bytesPerStream: number;
  /** Across all streams of a session; the least recently written streams are dropped first. */
  bytesPerSession: number;
}

export const DEFAULT_EVENT_STORE_LIMITS: EventStoreLimits = {
  eventsPerStream: 1000,
  bytesPerStream: 1024 * 1024,
  bytesPerSession: 4 * 1024 * 1024,
};

/** Streams whose position a session remembers (every request opens one); the oldest are forgotten first. */
const MAX_STREAMS = 1024;

interface StoredEvent {
  seq: number;
  message: JSONRPCMessage;
  bytes: number;
}

interface Stream {
  events: StoredEvent[];
  nextSeq: number;
  bytes: number;
}

/** Where a Last-Event-ID stands: replayable, from another session or made up, or older than what is kept. */
export type ResumePoint =
  | { kind: "replayable"; streamId: string }
  | { kind: "unknown" }
  | { kind: "evicted"; streamId: string; missed: number };

/**
 * One MCP session's SSE events, kept so a client that reconnects with `Last-Event-ID` gets every message it
 * missed on that stream. Bounded per stream (events and bytes) and per session (bytes, oldest streams first).
 * Event ids are `<stream id>/<sequence>`; ids are only meaningful within their session.
 */
export class SessionEventStore implements EventStore {
  private readonly streams = new Map<string, Stream>();
  private bytes = 0;

  constructor(private readonly limits: EventStoreLimits = DEFAULT_EVENT_STORE_LIMITS) {}

  get totalBytes(): number {
    return this.bytes;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    let stream = this.streams.get(streamId);
    if (stream) this.streams.delete(streamId); // re-inserted below: the map stays ordered by last write
    stream ??= { events: [], nextSeq: 1, bytes: 0 };
    this.streams.set(streamId, stream);
    const event = { seq: stream.nextSeq++, message, bytes: JSON.stringify(message).length };
    stream.events.push(event);
    stream.bytes += event.bytes;
    this.bytes += event.bytes;
    this.trim(stream);
    // The transport checks for a resumed stream right after this resolves. Resolving on the next turn of the
    // event loop lets a replay that finished in the meantime register that stream first, so an event stored
    // just after a replay read the log is written to the resumed stream rather than to nobody.
    await nextTurn();
    return `${streamId}/${event.seq}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const point = this.resumePoint(eventId);
    return point.kind === "replayable" ? point.streamId : undefined;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const point = this.resumePoint(lastEventId);
    if (point.kind !== "replayable") throw new Error(`Event "${lastEventId}" cannot be replayed (${point.kind}).`);
    const stream = this.streams.get(point.streamId)!;
    const after = parseEventId(lastEventId)!.seq;
    // Read the live array by index so events stored while earlier ones are being sent are replayed too.
    for (
      let index = stream.events.findIndex((event) => event.seq > after);
      index >= 0 && index < stream.events.length;
      index++
    ) {
      const event = stream.events[index]!;
      // Priming events carry no message; the client already holds an id at or past them.
      if (Object.keys(event.message).length > 0) await send(`${point.streamId}/${event.seq}`, event.message);
    }
    return point.streamId;
  }

  /** Whether the events after `eventId` are all still here. */
  resumePoint(eventId: string): ResumePoint {
    const parsed = parseEventId(eventId);
    const stream = parsed && this.streams.get(parsed.streamId);
    if (!parsed || !stream || parsed.seq >= stream.nextSeq) return { kind: "unknown" };
    const oldestKept = stream.events[0]?.seq ?? stream.nextSeq;
    if (parsed.seq < oldestKept - 1)
      return { kind: "evicted", streamId: parsed.streamId, missed: oldestKept - 1 - parsed.seq };
    return { kind: "replayable", streamId: parsed.streamId };
  }

  private trim(current: Stream): void {
    while (
      current.events.length > this.limits.eventsPerStream ||
      (current.bytes > this.limits.bytesPerStream && current.events.length > 1)
    ) {
      this.dropOldest(current);
    }
    for (const stream of this.streams.values()) {
      if (this.bytes <= this.limits.bytesPerSession || stream === current) break;
      // Keep the stream's sequence so a client holding one of its ids learns that events were dropped.
      while (stream.events.length > 0) this.dropOldest(stream);
    }
    while (this.bytes > this.limits.bytesPerSession && current.events.length > 1) this.dropOldest(current);
    for (const [streamId, stream] of this.streams) {
      if (this.streams.size <= MAX_STREAMS) break;
      this.bytes -= stream.bytes;
      this.streams.delete(streamId);
    }
  }

  private dropOldest(stream: Stream): void {
    const dropped = stream.events.shift()!;
    stream.bytes -= dropped.bytes;
    this.bytes -= dropped.bytes;
  }
}

function parseEventId(eventId: string): { streamId: string; seq: number } | undefined {
  const slash = eventId.lastIndexOf("/");
  const seq = Number(eventId.slice(slash + 1));
  if (slash <= 0 || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  return { streamId: eventId.slice(0, slash), seq };
}
