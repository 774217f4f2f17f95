// The client side of bench/mcp-session-memory.ts, in a process of its own so the SDK clients' memory is not counted
// with the control plane's. Forked with IPC: { open: n } opens n more sessions (initialize only), { listTools: true }
// sends one tools/list in each session, { close: true } ends each with DELETE and exits. Each request but close is
// answered with { sessions } once done; the sessions stay open in between.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { connectClient } from "../test/support/mcp-client.ts";

/** A request from the bench. */
export type ClientsRequest = { open: number } | { listTools: true } | { close: true };
/** The answer to open and listTools: the sessions open now. */
export interface ClientsReply {
  sessions: number;
}

const [url, token] = process.argv.slice(2);
if (!url || !token || !process.send)
  throw new Error("Fork this with the MCP URL and a bearer token as arguments and an IPC channel.");
const clients: Client[] = [];

process.on("message", (request: ClientsRequest) => {
  const work = "open" in request ? open(request.open) : "listTools" in request ? listTools() : close();
  work.catch((error: unknown) => {
    process.stderr.write(`bench clients: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
});

async function open(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    clients.push(await connectClient(url!, token));
  }
  process.send!({ sessions: clients.length } satisfies ClientsReply);
}

async function listTools(): Promise<void> {
  for (const client of clients) await client.listTools();
  process.send!({ sessions: clients.length } satisfies ClientsReply);
}

async function close(): Promise<void> {
  for (const client of clients) {
    await (client.transport as StreamableHTTPClientTransport).terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
  process.exit(0);
}
