import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { registerConformanceFixtures } from "../mcp/conformance-fixtures/register-conformance-fixtures.js";
import { DEFAULT_SESSION_OPTIONS, McpSessions, type McpSessionsOptions } from "./mcp-sessions.js";

const ALICE = { id: "alice" };
const URL_MCP = "http://127.0.0.1:8080/mcp";
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

interface SseEvent {
  id?: string;
  data: string;
}

/** Reads SSE events from a response body, one at a time; bounded by the caller. */
function sseReader(response: Response): { next(): Promise<SseEvent | undefined>; cancel(): Promise<void> } {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { data: "" };
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) event.id = line.slice(4);
            if (line.startsWith("data: ")) event.data += line.slice(6);
          }
          if (event.id !== undefined || event.data) return event;
          continue; // keep-alive comment
        }
        const chunk = await reader.read();
        if (chunk.done) return undefined;
        buffer += chunk.value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

let sessions: McpSessions | undefined;
/** Every server the sessions under test created, in order. */
let servers: McpServer[] = [];

function createSessions(options: Partial<McpSessionsOptions> = {}): McpSessions {
  sessions = new McpSessions(
    () => {
      const server = new McpServer({ name: "sessions-test", version: "1.0.0" }, { capabilities: { logging: {} } });
      registerConformanceFixtures(server);
      servers.push(server);
      return server;
    },
    createLogger("silent"),
    { ...DEFAULT_SESSION_OPTIONS, ...options },
  );
  return sessions;
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
};

async function open(target: McpSessions): Promise<string> {
  const init = INITIALIZE;
  const response = await target.handle(
    new Request(URL_MCP, { method: "POST", headers: HEADERS, body: JSON.stringify(init) }),
    ALICE,
  );
  await response.text();
  const sessionId = response.headers.get("mcp-session-id")!;
  await send(target, sessionId, { jsonrpc: "2.0", method: "notifications/initialized" });
  return sessionId;
}

function send(
  target: McpSessions,
  sessionId: string,
  body: unknown,
  method = "POST",
  extra: Record<string, string> = {},
): Promise<Response> {
  const headers = { ...HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25", ...extra };
  return target.handle(
    new Request(URL_MCP, { method, headers, body: method === "POST" ? JSON.stringify(body) : undefined }),
    ALICE,
  );
}

afterEach(async () => {
  await sessions?.closeAll();
  sessions = undefined;
  servers = [];
});

describe("McpSessions", () => {
  it("resumes a dropped stream with Last-Event-ID: every notification arrives once, then the result", async () => {
    const target = createSessions();
    const sessionId = await open(target);
    const call = {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: {
        name: "test_tool_with_progress",
        arguments: { steps: 20, delay_ms: 20 },
        _meta: { progressToken: "p" },
      },
    };
    const first = sseReader(await send(target, sessionId, call));
    const progress: number[] = [];
    let lastEventId = "";
    while (progress.length < 3) {
      const event = (await first.next())!;
      lastEventId = event.id ?? lastEventId;
      if (event.data) progress.push(JSON.parse(event.data).params.progress);
    }
    await first.cancel(); // the connection drops; the tool keeps running and its notifications are kept

    const resumed = await send(target, sessionId, undefined, "GET", { "last-event-id": lastEventId });
    expect(resumed.status).toBe(200);
    const second = sseReader(resumed);
    let result: unknown;
    for (let i = 0; i < 100 && result === undefined; i++) {
      const event = await second.next();
      if (!event) break;
      const message = JSON.parse(event.data);
      if (message.id === 7) result = message.result;
      else progress.push(message.params.progress);
    }
    await second.cancel();
    expect(progress).toEqual(Array.from({ length: 21 }, (_, step) => step * 5));
    expect(result).toEqual({ content: [{ type: "text", text: "p" }] });
  });

  it("refuses to resume from an event it no longer has or never issued, saying why", async () => {
    const target = createSessions({
      eventStore: { eventsPerStream: 2, bytesPerStream: 1_000_000, bytesPerSession: 1_000_000 },
    });
    const sessionId = await open(target);
    const call = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "test_tool_with_progress", arguments: { steps: 4, delay_ms: 0 }, _meta: { progressToken: 1 } },
    };
    const events: SseEvent[] = [];
    const reader = sseReader(await send(target, sessionId, call));
    for (let event = await reader.next(); event && events.length < 20; event = await reader.next()) events.push(event);
    const firstId = events[0]!.id!;
    const gone = await send(target, sessionId, undefined, "GET", { "last-event-id": firstId });
    expect(gone.status).toBe(410);
    expect(await gone.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32000,
        message: `Cannot resume: 4 event(s) after Last-Event-ID "${firstId}" are gone (a session keeps the last 2 events and 1000000 bytes of each stream); open the stream again without Last-Event-ID and re-read the state you need.`,
      },
      id: null,
    });
    const unknown = await send(target, sessionId, undefined, "GET", { "last-event-id": "not-an-event/1" });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: {
        message:
          'Cannot resume: Last-Event-ID "not-an-event/1" is not an event of this session; open the stream again without Last-Event-ID.',
      },
    });
  });

  it("ends a session on DELETE: later requests get 404", async () => {
    const target = createSessions();
    const sessionId = await open(target);
    const deleted = await send(target, sessionId, undefined, "DELETE");
    expect(deleted.status).toBe(200);
    expect(target.size).toBe(0);
    const after = await send(target, sessionId, { jsonrpc: "2.0", id: 2, method: "tools/list" });
    expect(after.status).toBe(404);
    expect(await after.json()).toMatchObject({
      error: { code: -32001, message: "Session not found: it expired or was closed; initialize a new session." },
    });
  });

  it("closes the server of an initialize the transport refused, so nothing of it stays behind", async () => {
    const target = createSessions();
    // A client that does not accept SSE, and one that labels its JSON as text: both refused before a session exists.
    const notAccepted = await target.handle(
      new Request(URL_MCP, {
        method: "POST",
        headers: { ...HEADERS, accept: "application/json" },
        body: JSON.stringify(INITIALIZE),
      }),
      ALICE,
    );
    expect(notAccepted.status).toBe(406);
    const notJson = await target.handle(
      new Request(URL_MCP, {
        method: "POST",
        headers: { ...HEADERS, "content-type": "text/plain" },
        body: JSON.stringify(INITIALIZE),
      }),
      ALICE,
    );
    expect(notJson.status).toBe(415);
    expect(target.size).toBe(0);
    expect(servers).toHaveLength(2);
    // A connected server would keep its session's listeners (runner changes, subscriptions) registered for good.
    expect(servers.map((server) => server.isConnected())).toEqual([false, false]);
  });

  it("on shutdown refuses new requests with 503 and lets a streaming call in flight finish", async () => {
    const target = createSessions();
    const sessionId = await open(target);
    const listening = await send(target, sessionId, undefined, "GET");
    const call = {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: "test_tool_with_progress", arguments: { steps: 5, delay_ms: 40 }, _meta: { progressToken: "s" } },
    };
    const reader = sseReader(await send(target, sessionId, call));
    const nextMessage = async (): Promise<
      { id?: number; result?: unknown; params?: { progress: number } } | undefined
    > => {
      for (let i = 0; i < 20; i++) {
        const event = await reader.next();
        if (!event) return undefined;
        if (event.data) return JSON.parse(event.data);
      }
      return undefined;
    };
    expect((await nextMessage())?.params?.progress).toBe(0);

    const stopped = target.shutdown(10_000);
    const refused = await send(target, sessionId, { jsonrpc: "2.0", id: 10, method: "ping" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32000,
        message: "Service unavailable: this control plane is shutting down; retry in 5 s (after it restarts).",
      },
      id: null,
    });
    let result: unknown;
    for (let message = await nextMessage(), i = 0; message && i < 20; message = await nextMessage(), i++) {
      if (message.id === 9) result = message.result;
    }
    expect(result).toEqual({ content: [{ type: "text", text: "s" }] });
    expect(await stopped).toBe(0);
    expect(target.size).toBe(0);
    // The idle GET stream did not hold shutdown up; closing the sessions ended it.
    expect(await listening.text()).toBe("");
  });

  it("on shutdown cuts a call still running after the grace period", async () => {
    const target = createSessions();
    const sessionId = await open(target);
    const call = {
      jsonrpc: "2.0",
      id: 11,
      method: "tools/call",
      params: {
        name: "test_tool_with_progress",
        arguments: { steps: 50, delay_ms: 100 },
        _meta: { progressToken: "c" },
      },
    };
    const response = await send(target, sessionId, call);
    expect(await target.shutdown(150)).toBe(1);
    const text = await response.text();
    expect(text).not.toContain('"id":11');
  });

  it("expires idle sessions but not one with an open stream", async () => {
    const target = createSessions({ idleTimeoutMs: 200 });
    const listening = await open(target);
    const idle = await open(target);
    const stream = await send(target, listening, undefined, "GET");
    expect(stream.status).toBe(200);
    expect(target.size).toBe(2);
    // Polling the size, not the session: a request would count as activity.
    await expect.poll(() => target.size, { timeout: 5000, interval: 50 }).toBe(1);
    expect((await send(target, idle, { jsonrpc: "2.0", id: 3, method: "ping" })).status).toBe(404);
    // The listening session opened first, so it was older than the idle one when that one expired.
    const alive = await send(target, listening, { jsonrpc: "2.0", id: 4, method: "ping" });
    expect(alive.status).toBe(200);
    await alive.text();
    await stream.body!.cancel();
  });
});

describe("McpSessions input bounds", () => {
  const LIMIT = 64 * 1024;

  function post(
    target: McpSessions,
    body: RequestInit["body"],
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return target.handle(
      new Request(URL_MCP, {
        method: "POST",
        headers: { ...HEADERS, ...headers },
        body,
        duplex: "half",
      } as RequestInit),
      ALICE,
    );
  }

  it("answers 413 to a body longer than the limit, by its Content-Length, before reading it", async () => {
    const target = createSessions({ maxBodyBytes: LIMIT });
    // A body that never ends: only an answer that does not wait for it can arrive.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const response = await post(target, body, { "content-length": String(50 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32600,
        message:
          `Request body too large: its Content-Length is 52428800 bytes and the limit is ${LIMIT} bytes (sessions.max_body_bytes); ` +
          "send less in one request (split a large file into several fs_write calls) or ask the operator to raise sessions.max_body_bytes (DEVHATCHERY_MAX_BODY_BYTES).",
      },
      id: null,
    });
    expect(servers).toHaveLength(0);
  });

  it("answers 413 to a chunked body past the limit once the client has sent it, keeping none of it", async () => {
    const target = createSessions({ maxBodyBytes: LIMIT });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 16 * 1024;
        if (sent > 100 * LIMIT) controller.close();
        else controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      },
    });
    const response = await post(target, body);
    // Read to its end (and dropped) first: an answer written while the client still sends can be lost to a reset.
    expect(sent).toBeGreaterThan(100 * LIMIT);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      error: {
        code: -32600,
        message: expect.stringMatching(
          /^Request body too large: more than 65536 bytes were sent and the limit is 65536 bytes \(sessions\.max_body_bytes\); /,
        ),
      },
    });
  });

  it("answers 413 to a body that never ends after dropping 64 MiB of it", async () => {
    const target = createSessions({ maxBodyBytes: LIMIT });
    let sent = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 256 * 1024;
        controller.enqueue(new Uint8Array(256 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = await post(target, body);
    expect(response.status).toBe(413);
    expect(cancelled).toBe(true);
    expect(sent).toBeLessThanOrEqual(LIMIT + 64 * 1024 * 1024 + 4 * 256 * 1024);
  });

  it("answers 413 to a client that announced more than the limit and then stalls, without waiting for the rest", async () => {
    const target = createSessions({ maxBodyBytes: LIMIT });
    let pulls = 0;
    let cancelled = false;
    // 1 KiB, then nothing more and no end: the client waits for the answer while the server waits for bytes.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new Uint8Array(1024));
        else return new Promise<void>(() => undefined);
      },
      cancel() {
        cancelled = true;
      },
    });
    const started = Date.now();
    const response = await post(target, body, { "content-length": String(64 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Left open, not cancelled: a cancel closes the connection and the client would read a reset instead of the answer.
    expect(cancelled).toBe(false);
  });

  it("takes a body of exactly the limit, and refuses JSON nested deeper than it reads", async () => {
    const target = createSessions({ maxBodyBytes: LIMIT });
    const init = JSON.stringify(INITIALIZE);
    const exact = await post(target, init + " ".repeat(LIMIT - init.length));
    expect(exact.status).toBe(200);
    await exact.text();
    const deep = await post(target, "[".repeat(10_000) + "]".repeat(10_000));
    expect(deep.status).toBe(400);
    expect(await deep.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32600,
        message:
          "Invalid Request: the JSON body nests arrays and objects more than 64 levels deep; MCP messages need far fewer. Send a flatter message.",
      },
      id: null,
    });
  });

  it("keeps only a bounded part of the client's info from initialize", async () => {
    const target = createSessions();
    const huge = "x".repeat(1024 * 1024);
    const init = {
      ...INITIALIZE,
      params: {
        ...INITIALIZE.params,
        clientInfo: { name: huge, version: "1", websiteUrl: `https://example.com/${huge}` },
        capabilities: { experimental: { blob: { data: huge } } },
      },
    };
    const response = await post(target, JSON.stringify(init));
    expect(response.status, await response.clone().text()).toBe(200);
    await response.text();
    const server = servers[0]!.server;
    expect(JSON.stringify(server.getClientVersion()).length).toBeLessThan(1024);
    expect(server.getClientVersion()?.name).toBe("x".repeat(256));
    expect(JSON.stringify(server.getClientCapabilities()).length).toBeLessThan(1024);
  });

  it("closes a principal's oldest idle session to open one more past the limit, and refuses when none is idle", async () => {
    const target = createSessions({ maxSessionsPerPrincipal: 2 });
    const first = await open(target);
    const second = await open(target);
    await send(target, second, { jsonrpc: "2.0", id: 1, method: "ping" }).then((response) => response.text());
    const third = await open(target);
    expect(target.size).toBe(2);
    expect((await send(target, first, { jsonrpc: "2.0", id: 2, method: "ping" })).status).toBe(404);
    // Another principal has limits of its own.
    const bob = await target.handle(
      new Request(URL_MCP, { method: "POST", headers: HEADERS, body: JSON.stringify(INITIALIZE) }),
      { id: "bob" },
    );
    expect(bob.status).toBe(200);
    await bob.text();

    const streams = [await send(target, second, undefined, "GET"), await send(target, third, undefined, "GET")];
    const refused = await target.handle(
      new Request(URL_MCP, { method: "POST", headers: HEADERS, body: JSON.stringify(INITIALIZE) }),
      ALICE,
    );
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32000,
        message:
          'Too many MCP sessions: principal "alice" has 2 open sessions, each with an open stream, and the limit is 2 (sessions.max_per_principal); ' +
          "close sessions you no longer use (HTTP DELETE with their Mcp-Session-Id) or ask the operator to raise sessions.max_per_principal (DEVHATCHERY_MAX_SESSIONS_PER_PRINCIPAL).",
      },
      id: null,
    });
    expect(target.size).toBe(3);
    await Promise.all(streams.map((stream) => stream.body!.cancel()));
  });

  it("never closes a session to make room while one of its requests is being answered", async () => {
    const target = createSessions({ maxSessionsPerPrincipal: 1 });
    const first = await open(target);
    // The ping is still inside the transport (its stream's first event is being stored) when the second initialize
    // looks for an idle session to close: the session is busy, so the initialize is refused instead.
    const [ping, second] = await Promise.all([
      send(target, first, { jsonrpc: "2.0", id: 1, method: "ping" }),
      target.handle(
        new Request(URL_MCP, { method: "POST", headers: HEADERS, body: JSON.stringify(INITIALIZE) }),
        ALICE,
      ),
    ]);
    expect(ping.status).toBe(200);
    expect(await ping.text()).toContain('"result":{}');
    expect(second.status).toBe(429);
    await second.text();
    expect((await send(target, first, { jsonrpc: "2.0", id: 2, method: "ping" })).status).toBe(200);
  });
});
