import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { Authenticator } from "../auth/bearer-authenticator.js";
import type { Logger } from "../log.js";
import { createAuthMiddleware, type AppEnv } from "./auth-middleware.js";
import { createHostGuard, type HostGuardOptions } from "./host-guard.js";
import type { McpSessions } from "./mcp-sessions.js";

export interface AppDeps {
  sessions: McpSessions;
  authenticate: Authenticator;
  hostGuard: HostGuardOptions;
  version: string;
  log: Logger;
}

/** The HTTP surface: request ids, /healthz, and /mcp behind host validation and auth. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    const requestId = c.req.header("x-request-id")?.slice(0, 128) || randomUUID();
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    await next();
  });

  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));

  app.use("/mcp", createHostGuard(deps.hostGuard), createAuthMiddleware(deps.authenticate, deps.log));
  app.all("/mcp", (c) => deps.sessions.handle(c.req.raw, c.get("principal")));

  app.notFound((c) => c.json({ error: "not_found", message: `No route for ${c.req.method} ${c.req.path}; MCP is served at /mcp.` }, 404));
  app.onError((error, c) => {
    deps.log.error({ err: error, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
    return c.json({ error: "internal_error", request_id: c.get("requestId") }, 500);
  });
  return app;
}
