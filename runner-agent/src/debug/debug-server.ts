import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentToken } from "../agent-token.js";
import type { Logger } from "../log.js";
import { renderDebugPage } from "./debug-page.js";
import { takeDebugSnapshot, type DebugSources } from "./debug-snapshot.js";

export interface DebugServer {
  readonly port: number;
  close(): Promise<void>;
}

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  });
  response.end(body);
}

/**
 * The agent's read-only HTTP debug endpoint on its own port, behind the runner token:
 * `GET /debug` (HTML for browsers, JSON otherwise) and `GET /debug.json`. Each request is checked against the token in
 * force when it arrives, so a rotated token opens nothing here either.
 */
export async function startDebugServer(options: {
  host: string;
  port: number;
  token: AgentToken;
  sources: DebugSources;
  log: Logger;
}): Promise<DebugServer> {
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (!options.token.matches(request.headers.authorization)) {
      options.log.warn({ path: request.url }, "rejected a debug request without a valid runner token");
      send(
        response,
        401,
        "application/json",
        JSON.stringify({ error: "unauthorized", message: "send `Authorization: Bearer <runner token>`" }),
        {
          "www-authenticate": 'Bearer realm="devhatchery-agent"',
        },
      );
      return;
    }
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/debug" && path !== "/debug.json") {
      send(
        response,
        404,
        "application/json",
        JSON.stringify({ error: "not_found", message: "the debug endpoint serves /debug and /debug.json" }),
      );
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(
        response,
        405,
        "application/json",
        JSON.stringify({ error: "method_not_allowed", message: "the debug endpoint is read-only: use GET" }),
        { allow: "GET, HEAD" },
      );
      return;
    }
    const snapshot = takeDebugSnapshot(options.sources);
    const wantsHtml = path === "/debug" && (request.headers.accept ?? "").includes("text/html");
    if (wantsHtml) send(response, 200, "text/html; charset=utf-8", renderDebugPage(snapshot));
    else send(response, 200, "application/json", JSON.stringify(snapshot));
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.log.info({ port }, "debug endpoint listening");
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
