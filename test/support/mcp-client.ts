import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";

/** An MCP SDK client connected over Streamable HTTP with a bearer token. */
export async function connectClient(url: string, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  const client = new Client({ name: "devhatchery-e2e", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** Appends the text of every log message the server sends `client` (notifications/message) to `into`. */
export function collectLogMessages(client: Client, into: string[]): void {
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    into.push(String((notification.params.data as { message?: unknown }).message));
  });
}

/** Calls a tool and returns its result together with every progress notification it sent. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ result: CallToolResult; progress: Progress[]; structured: Record<string, unknown> }> {
  const progress: Progress[] = [];
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => progress.push(p),
    timeout: 120_000,
  })) as CallToolResult;
  return { result, progress, structured: (result.structuredContent ?? {}) as Record<string, unknown> };
}

/** The text of a tool result's first content item. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}
