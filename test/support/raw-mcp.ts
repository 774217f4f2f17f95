import { request, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";

/** One MCP session over plain HTTP, for tests that need control over the socket (pausing, not reading). */
export interface RawMcpSession {
  sessionId: string;
  /** POSTs `message` and resolves with the response as it starts, unread. */
  post(message: unknown): Promise<IncomingMessage>;
}

/** Opens a POST to /mcp as `token` on a connection of its own, with `headers` added; the caller writes the body. */
export function openMcpPost(url: string, token: string, headers: OutgoingHttpHeaders = {}): ClientRequest {
  return request(url, {
    method: "POST",
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
  });
}

function postTo(url: string, token: string, message: unknown, sessionId?: string): Promise<IncomingMessage> {
  const body = JSON.stringify(message);
  return new Promise((resolve, reject) => {
    const call = openMcpPost(url, token, {
      "content-length": Buffer.byteLength(body),
      ...(sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" } : {}),
    });
    call.once("response", resolve).once("error", reject);
    call.end(body);
  });
}

async function drain(response: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of response) text += String(chunk);
  return text;
}

/** Initializes a session over plain HTTP and sends notifications/initialized. */
export async function openRawMcpSession(url: string, token: string): Promise<RawMcpSession> {
  const init = {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw-http", version: "1" } },
  };
  const initialized = await postTo(url, token, init);
  await drain(initialized);
  const sessionId = initialized.headers["mcp-session-id"];
  if (typeof sessionId !== "string")
    throw new Error(`initialize answered ${initialized.statusCode} without a session id`);
  await drain(await postTo(url, token, { jsonrpc: "2.0", method: "notifications/initialized" }, sessionId));
  return { sessionId, post: (message) => postTo(url, token, message, sessionId) };
}

/** The JSON-RPC messages of an SSE response body, read to its end. */
export async function readSseMessages(response: IncomingMessage): Promise<Record<string, unknown>[]> {
  const messages: Record<string, unknown>[] = [];
  let buffer = "";
  for await (const chunk of response) {
    buffer += String(chunk);
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const data = buffer
        .slice(0, end)
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("");
      buffer = buffer.slice(end + 2);
      if (data) messages.push(JSON.parse(data) as Record<string, unknown>);
    }
  }
  return messages;
}
