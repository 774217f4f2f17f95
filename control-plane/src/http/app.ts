import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { Authenticator } from "../auth/bearer-authenticator.js";
import type { Principal } from "../auth/principal.js";
import { asControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { createAuthMiddleware, type AppEnv } from "./auth-middleware.js";
import { createHostGuard, type HostGuardOptions } from "./host-guard.js";
import type { McpSessions } from "./mcp-sessions.js";

/** A runner's agent debug view for a principal; failures are ControlPlaneErrors (not found, unavailable). */
export type DebugViewer = (principal: Principal, runner: string, format: "json" | "html") => Promise<{ status: number; contentType: string; body: string }>;

export interface AppDeps {
  sessions: McpSessions;
  debugView: DebugViewer;
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

  // The agent's debug endpoint is never published; people reach it here, authenticated and owner-checked.
  app.use("/runners/*", createHostGuard(deps.hostGuard), createAuthMiddleware(deps.authenticate, deps.log));
  app.get("/runners/:runner/debug", async (c) => {
    const format = (c.req.header("accept") ?? "").includes("text/html") ? "html" : "json";
    try {
      const view = await deps.debugView(c.get("principal"), c.req.param("runner"), format);
      return c.body(view.body, view.status as 200, { "content-type": view.contentType, "cache-control": "no-store" });
    } catch (error) {
      const failure = asControlPlaneError(error);
      const status = failure.code === "NOT_FOUND" ? 404 : failure.code === "INVALID_ARGUMENT" ? 400 : failure.code === "INTERNAL" ? 500 : 503;
      return c.json({ error: failure.code.toLowerCase(), message: failure.message }, status);
    }
  });

  app.notFound((c) => c.json({ error: "not_found", message: `No route for ${c.req.method} ${c.req.path}; MCP is served at /mcp.` }, 404));
  app.onError((error, c) => {
    deps.log.error({ err: error, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
    return c.json({ error: "internal_error", request_id: c.get("requestId") }, 500);
  });
  return app;
}
