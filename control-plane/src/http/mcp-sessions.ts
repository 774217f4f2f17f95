import { randomUUID } from "node:crypto";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log.js";

interface Session {
  principal: string;
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

/**
 * Stateful MCP sessions over Streamable HTTP: one transport and one server per session, each bound to the
 * principal that opened it. A session is reachable only by that principal; idle sessions are closed.
 */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly createServer: (principal: Principal, sessionLog: Logger) => McpServer,
    private readonly log: Logger,
    private readonly idleTimeoutMs = 30 * 60 * 1000,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, idleTimeoutMs)).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(request: Request, principal: Principal): Promise<Response> {
    let parsedBody: unknown;
    if (request.method === "POST") {
      try {
        // Parsed once here; the transport takes the parsed body and does not read the stream again.
        parsedBody = await request.json();
      } catch {
        return jsonRpcError(400, -32700, "Parse error: the request body is not valid JSON.");
      }
    }
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // Another principal's session id is answered exactly like an unknown one.
      if (!session || session.principal !== principal.id) {
        return jsonRpcError(404, -32001, "Session not found: it expired or was closed; initialize a new session.");
      }
      session.lastSeen = Date.now();
      return session.transport.handleRequest(request, { parsedBody });
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
    const sessionLog = this.log.child({ principal: principal.id });
    const server = this.createServer(principal, sessionLog);
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { principal: principal.id, transport, server, lastSeen: Date.now() });
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
    return transport.handleRequest(request, { parsedBody });
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.idleTimeoutMs;
    for (const [id, session] of this.sessions) {
      if (session.lastSeen < cutoff) {
        this.sessions.delete(id);
        void session.server.close().catch(() => undefined);
        this.log.info({ session: id, principal: session.principal }, "mcp session expired");
      }
    }
  }
}
