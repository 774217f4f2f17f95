import { Hono } from "hono";
import type { AuditLog } from "../audit.js";
import type { Authenticator } from "../auth/bearer-authenticator.js";
import type { Principal } from "../auth/principal.js";
import { asControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { PrometheusMetrics } from "../observability/prometheus-metrics.js";
import type { ReadinessReport } from "../observability/readiness.js";
import { createAuthMiddleware, type AppEnv } from "./auth-middleware.js";
import { createHostGuard, type HostGuardOptions } from "./host-guard.js";
import { createHttpMetricsMiddleware } from "./http-metrics-middleware.js";
import type { McpSessions } from "./mcp-sessions.js";
import { createRequestContextMiddleware } from "./request-context-middleware.js";

/** A runner's agent debug view for a principal; failures are ControlPlaneErrors (not found, unavailable). */
export type DebugViewer = (principal: Principal, runner: string, format: "json" | "html") => Promise<{ status: number; contentType: string; body: string }>;

export interface AppDeps {
  sessions: McpSessions;
  debugView: DebugViewer;
  authenticate: Authenticator;
  hostGuard: HostGuardOptions;
  version: string;
  log: Logger;
  audit: AuditLog;
  metrics: PrometheusMetrics;
  /** Docker reachable, state store open, agent delivery for the default image ready (cached briefly). */
  readiness: () => Promise<ReadinessReport>;
}

/**
 * The HTTP surface: request ids and context, latency metrics, /healthz (process up), /readyz (dependencies),
 * /metrics (Prometheus, aggregate only), and /mcp plus the runner debug route behind host validation and auth.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const hostGuard = createHostGuard(deps.hostGuard, deps.audit);
  const auth = createAuthMiddleware(deps.authenticate, deps.log, { audit: deps.audit, authFailed: (reason) => deps.metrics.authFailed(reason) });

  app.use("*", createRequestContextMiddleware(), createHttpMetricsMiddleware(deps.metrics));

  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/readyz", async (c) => {
    const report = await deps.readiness();
    return c.json({ status: report.ready ? "ready" : "not_ready", checks: report.checks }, report.ready ? 200 : 503, { "cache-control": "no-store" });
  });
  // No auth, like most Prometheus targets: every series is an aggregate with bounded labels (no principal, runner id or
  // path), and the default bind is loopback. The host guard still stops DNS-rebinding pages from reading it.
  app.get("/metrics", hostGuard, async (c) => c.body(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType }));

  app.use("/mcp", hostGuard, auth);
  app.all("/mcp", (c) => deps.sessions.handle(c.req.raw, c.get("principal")));

  // The agent's debug endpoint is never published; people reach it here, authenticated and owner-checked.
  app.use("/runners/*", hostGuard, auth);
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
    deps.log.error({ err: error, path: c.req.path }, "unhandled error");
    return c.json({ error: "internal_error", request_id: c.get("requestId") }, 500);
  });
  return app;
}
