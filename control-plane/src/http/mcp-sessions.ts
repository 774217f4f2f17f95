import { randomUUID } from "node:crypto";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "../auth/principal.js";
import { SessionPrincipal } from "../auth/session-principal.js";
import type { Logger } from "../log.js";
import { currentRequestContext, runWithRequestContext } from "../request-context.js";
import { InFlightRequests } from "./in-flight-requests.js";
import { ResponseBacklog, runWithResponseBacklog } from "../response-backlog.js";
import { jsonDepthExceeds, readBoundedBody } from "./bounded-body.js";
import { boundInitialize } from "./initialize-bounds.js";
import { describeMcpCall } from "./mcp-call.js";
import { meterBody } from "./metered-body.js";
import { DEFAULT_EVENT_STORE_LIMITS, SessionEventStore, type EventStoreLimits } from "./session-event-store.js";
import { trackBody } from "./track-body.js";

interface Session {
  principal: string;
  /** The principal the session's server acts for; each request updates its groups and policy. */
  caller: SessionPrincipal;
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  events: SessionEventStore;
  lastSeen: number;
  /** Requests being answered and SSE responses still open; a session with either is never idle. */
  openStreams: number;
}

export interface McpSessionsOptions {
  /** A session with no request and no open stream for this long is closed. */
  idleTimeoutMs: number;
  eventStore: EventStoreLimits;
  /** A POST body longer than this is refused with 413 before it is parsed. */
  maxBodyBytes: number;
  /** Sessions one principal may hold; past it the oldest idle one is closed, or initialize is refused. */
  maxSessionsPerPrincipal: number;
}

/** The default body limit: above the largest legal fs_write (16 MiB as base64 is 21.3 MiB) plus its JSON envelope. */
export const DEFAULT_MAX_BODY_BYTES = 24 * 1024 * 1024;
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 64;
/** How deep a request body may nest arrays and objects; MCP messages need a handful of levels. */
export const MAX_JSON_DEPTH = 64;
/** Bytes of one SSE response waiting for a slow client past which exec output progress is skipped. */
export const RESPONSE_BACKLOG_LIMIT_BYTES = 1024 * 1024;

function isEventStream(response: Response): boolean {
  return response.body !== null && (response.headers.get("content-type")?.startsWith("text/event-stream") ?? false);
}

/** Sent as the SSE `retry` field: how long a client whose stream dropped waits before reconnecting. */
const RECONNECT_AFTER_MS = 1000;

export const DEFAULT_SESSION_OPTIONS: McpSessionsOptions = {
  idleTimeoutMs: 30 * 60 * 1000,
  eventStore: DEFAULT_EVENT_STORE_LIMITS,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  maxSessionsPerPrincipal: DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
};

/** What a client refused during shutdown is told to wait before trying again (another instance, or this one restarted). */
const RETRY_AFTER_S = 5;

const tracer = trace.getTracer("devhatchery-control-plane");

function jsonRpcError(status: number, code: number, message: string, headers?: Record<string, string>): Response {
  return Response.json(
    { jsonrpc: "2.0", error: { code, message }, id: null },
    { status, ...(headers ? { headers } : {}) },
  );
}

/**
 * Stateful MCP sessions over Streamable HTTP: one transport and one server per session, each bound to the
 * principal that opened it. A session is reachable only by that principal; idle sessions are closed. Each session
 * keeps its recent SSE events, so a client that reconnects with `Last-Event-ID` misses nothing.
 */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  /** POSTs being answered (their SSE response included); shutdown waits for these, not for idle GET streams. */
  private readonly inFlight = new InFlightRequests();
  /** Initialize requests being answered, by principal: they count against the session limit too. */
  private readonly opening = new Map<string, number>();
  private draining = false;

  constructor(
    private readonly createServer: (principal: Principal, sessionLog: Logger) => McpServer,
    private readonly log: Logger,
    private readonly options: McpSessionsOptions = DEFAULT_SESSION_OPTIONS,
  ) {
    this.sweeper = setInterval(
      () => this.closeIdle(),
      Math.min(60_000, Math.max(100, options.idleTimeoutMs / 4)),
    ).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** True once shutdown began: every request is answered 503. */
  get isDraining(): boolean {
    return this.draining;
  }

  async handle(request: Request, principal: Principal): Promise<Response> {
    if (this.draining) {
      return jsonRpcError(
        503,
        -32000,
        `Service unavailable: this control plane is shutting down; retry in ${RETRY_AFTER_S} s (after it restarts).`,
        {
          "retry-after": String(RETRY_AFTER_S),
        },
      );
    }
    if (request.method !== "POST") return this.route(request, principal, undefined);
    const limit = this.options.maxBodyBytes;
    const body = await readBoundedBody(request, limit);
    if (body.kind === "too-large") {
      const size = body.declared ? `its Content-Length is ${body.bytes} bytes` : `more than ${limit} bytes were sent`;
      return jsonRpcError(
        413,
        -32600,
        `Request body too large: ${size} and the limit is ${limit} bytes (sessions.max_body_bytes); ` +
          "send less in one request (split a large file into several fs_write calls) or ask the operator to raise sessions.max_body_bytes (DEVHATCHERY_MAX_BODY_BYTES).",
      );
    }
    if (jsonDepthExceeds(body.text, MAX_JSON_DEPTH)) {
      return jsonRpcError(
        400,
        -32600,
        `Invalid Request: the JSON body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; MCP messages need far fewer. Send a flatter message.`,
      );
    }
    let parsedBody: unknown;
    try {
      // Parsed once here; the transport takes the parsed body and does not read the stream again.
      parsedBody = JSON.parse(body.text);
    } catch {
      return jsonRpcError(400, -32700, "Parse error: the request body is not valid JSON.");
    }
    return this.answer(request, principal, parsedBody);
  }

  /**
   * Stops taking requests (503 with Retry-After from now on), lets the POSTs in flight finish (a streamed exec
   * included) for up to `graceMs`, then closes every session, cutting what is still open. Resolves with how many
   * requests were cut.
   */
  async shutdown(graceMs: number): Promise<number> {
    this.draining = true;
    if (this.inFlight.count > 0)
      this.log.info({ inFlight: this.inFlight.count, graceMs }, "waiting for MCP requests in flight");
    await this.inFlight.idle(graceMs);
    const cut = this.inFlight.count;
    await this.closeAll();
    return cut;
  }

  /** A POST: traced as `mcp <method>` (tool name included), counted in flight until its response body ends. */
  private async answer(request: Request, principal: Principal, parsedBody: unknown): Promise<Response> {
    const call = describeMcpCall(parsedBody);
    const requestContext = currentRequestContext();
    const started = Date.now();
    const span = tracer.startSpan(call.spanName, { attributes: call.attributes });
    const answered = this.inFlight.begin();
    let finished = false;
    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      span.end();
      if (call.tool) {
        const fields = { principal: principal.id, tool: call.tool, durationMs: Date.now() - started };
        const log = (): void => this.log.info(fields, "tool call finished");
        if (requestContext) runWithRequestContext(requestContext, log);
        else log();
      }
      answered();
    };
    // Work for this request (exec output progress) skips what it can while the client reads its stream slowly.
    const backlog = new ResponseBacklog(RESPONSE_BACKLOG_LIMIT_BYTES);
    try {
      const response = await runWithResponseBacklog(backlog, () =>
        context.with(trace.setSpan(context.active(), span), () => this.route(request, principal, parsedBody)),
      );
      if (!isEventStream(response)) {
        finish();
        return response;
      }
      return trackBody(meterBody(response, backlog), finish);
    } catch (error) {
      finish(error);
      throw error;
    }
  }

  private async route(request: Request, principal: Principal, parsedBody: unknown): Promise<Response> {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // Another principal's session id is answered exactly like an unknown one.
      if (!session || session.principal !== principal.id) {
        return jsonRpcError(404, -32001, "Session not found: it expired or was closed; initialize a new session.");
      }
      session.lastSeen = Date.now();
      session.caller.update(principal);
      const lastEventId = request.method === "GET" ? request.headers.get("last-event-id") : null;
      const refusal = lastEventId ? this.refuseResume(session, lastEventId) : undefined;
      if (refusal) return refusal;
      // Busy while the transport answers, too: closing it to make room (or as idle) would cut this request short.
      session.openStreams++;
      let response: Response;
      try {
        response = await session.transport.handleRequest(request, { parsedBody });
      } finally {
        session.openStreams--;
        session.lastSeen = Date.now();
      }
      return this.track(session, response);
    }
    if (request.method === "POST" && isInitializeRequest(parsedBody)) return this.open(request, principal, parsedBody);
    return jsonRpcError(400, -32000, "Bad Request: no Mcp-Session-Id header; start with an initialize request.");
  }

  /** Closes every session (used on shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((session) => session.server.close().catch(() => undefined)));
    this.sessions.clear();
  }

  private async open(request: Request, principal: Principal, parsedBody: unknown): Promise<Response> {
    const refusal = this.makeRoom(principal.id);
    if (refusal) return refusal;
    const pending = (this.opening.get(principal.id) ?? 0) + 1;
    this.opening.set(principal.id, pending);
    try {
      return await this.openSession(request, principal, boundInitialize(parsedBody));
    } finally {
      const left = (this.opening.get(principal.id) ?? 1) - 1;
      if (left > 0) this.opening.set(principal.id, left);
      else this.opening.delete(principal.id);
    }
  }

  /**
   * Keeps a principal within its session limit before it opens one more: closes its least recently used session
   * without an open stream, or answers why it cannot.
   */
  private makeRoom(principalId: string): Response | undefined {
    const limit = this.options.maxSessionsPerPrincipal;
    const own = [...this.sessions].filter(([, session]) => session.principal === principalId);
    if (own.length + (this.opening.get(principalId) ?? 0) < limit) return undefined;
    const idle = own.filter(([, session]) => session.openStreams === 0).sort(([, a], [, b]) => a.lastSeen - b.lastSeen);
    const excess = own.length + (this.opening.get(principalId) ?? 0) - limit + 1;
    if (idle.length < excess) {
      return jsonRpcError(
        429,
        -32000,
        `Too many MCP sessions: principal "${principalId}" has ${own.length} open sessions, each with an open stream, and the limit is ${limit} (sessions.max_per_principal); ` +
          "close sessions you no longer use (HTTP DELETE with their Mcp-Session-Id) or ask the operator to raise sessions.max_per_principal (DEVHATCHERY_MAX_SESSIONS_PER_PRINCIPAL).",
      );
    }
    for (const [id, session] of idle.slice(0, excess)) {
      this.sessions.delete(id);
      void session.server.close().catch(() => undefined);
      this.log.info(
        { session: id, principal: principalId, limit },
        "mcp session closed to make room for a new one (sessions.max_per_principal)",
      );
    }
    return undefined;
  }

  private async openSession(request: Request, principal: Principal, parsedBody: unknown): Promise<Response> {
    const sessionLog = this.log.child({ principal: principal.id });
    const caller = new SessionPrincipal(principal);
    const server = this.createServer(caller, sessionLog);
    const events = new SessionEventStore(this.options.eventStore);
    let session: Session | undefined;
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: events,
      retryInterval: RECONNECT_AFTER_MS,
      onsessioninitialized: (id) => {
        // Busy (1) until its initialize is answered, like any request (see route).
        session = { principal: principal.id, caller, transport, server, events, lastSeen: Date.now(), openStreams: 1 };
        this.sessions.set(id, session);
        sessionLog.info({ session: id }, "mcp session opened");
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
        sessionLog.info({ session: id }, "mcp session closed by client");
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    let response: Response;
    try {
      response = await transport.handleRequest(request, { parsedBody });
    } finally {
      // Refused before a session existed (406, 415, …): close the server, or its listeners on runner changes stay forever.
      if (!session) await server.close().catch(() => undefined);
      else session.openStreams--;
    }
    return session ? this.track(session, response) : response;
  }

  /** Answers a Last-Event-ID the session cannot honour in full, instead of resuming with a silent gap. */
  private refuseResume(session: Session, lastEventId: string): Response | undefined {
    const point = session.events.resumePoint(lastEventId);
    if (point.kind === "replayable") return undefined;
    if (point.kind === "unknown") {
      return jsonRpcError(
        400,
        -32000,
        `Cannot resume: Last-Event-ID "${lastEventId.slice(0, 200)}" is not an event of this session; open the stream again without Last-Event-ID.`,
      );
    }
    const { eventsPerStream, bytesPerStream } = this.options.eventStore;
    return jsonRpcError(
      410,
      -32000,
      `Cannot resume: ${point.missed} event(s) after Last-Event-ID "${lastEventId}" are gone (a session keeps the last ${eventsPerStream} events and ${bytesPerStream} bytes of each stream); ` +
        "open the stream again without Last-Event-ID and re-read the state you need.",
    );
  }

  private track(session: Session, response: Response): Response {
    if (!isEventStream(response)) return response;
    session.openStreams++;
    return trackBody(response, () => {
      session.openStreams--;
      session.lastSeen = Date.now();
    });
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const [id, session] of this.sessions) {
      if (session.openStreams === 0 && session.lastSeen < cutoff) {
        this.sessions.delete(id);
        void session.server.close().catch(() => undefined);
        this.log.info({ session: id, principal: session.principal }, "mcp session expired");
      }
    }
  }
}
