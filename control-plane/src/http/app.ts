import { Hono, type Context } from "hono";
import type { AuditLog } from "../audit.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { ProtectedResource } from "../auth/protected-resource.js";
import { METADATA_ROOT } from "../auth/protected-resource.js";
import type { Principal } from "../auth/principal.js";
import { asControlPlaneError, ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { PrometheusMetrics } from "../observability/prometheus-metrics.js";
import type { ReadinessReport } from "../observability/readiness.js";
import { createAuthMiddleware, type AppEnv } from "./auth-middleware.js";
import { DEBUG_PAGE_HEADERS, debugFailureStatus, renderDebugPage } from "./debug-page.js";
import { createHostGuard, type HostGuardOptions } from "./host-guard.js";
import { createHttpMetricsMiddleware } from "./http-metrics-middleware.js";
import type { McpSessions } from "./mcp-sessions.js";
import { createRequestContextMiddleware } from "./request-context-middleware.js";

/** A runner's agent debug snapshot (its JSON, untrusted) for a principal; failures are ControlPlaneErrors (not found, unavailable). */
export type DebugViewer = (principal: Principal, runner: string) => Promise<unknown>;

export interface AppDeps {
  sessions: McpSessions;
  debugView: DebugViewer;
  authenticate: Authenticator;
  /** With OIDC: this server's RFC 9728 metadata, published at its well-known paths and named in challenges. */
  protectedResource?: ProtectedResource | undefined;
  hostGuard: HostGuardOptions;
  version: string;
  log: Logger;
  audit: AuditLog;
  metrics: PrometheusMetrics;
  /** Docker reachable, state store open, agent delivery for the default image ready (cached briefly; observes only). */
  readiness: () => Promise<ReadinessReport>;
}

/**
 * The HTTP surface: request ids and context, latency metrics, /healthz (process up), /readyz (dependencies),
 * /metrics (Prometheus, aggregate only), and /mcp plus the runner debug route behind host validation and auth.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const hostGuard = createHostGuard(deps.hostGuard, deps.audit);
  const auth = createAuthMiddleware(
    deps.authenticate,
    deps.log,
    { audit: deps.audit, authFailed: (reason) => deps.metrics.authFailed(reason) },
    deps.protectedResource,
  );

  app.use("*", createRequestContextMiddleware(), createHttpMetricsMiddleware(deps.metrics));

  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/readyz", async (c) => {
    const report = await deps.readiness();
    // Unauthenticated: only names and outcomes (errors and hints, which may name addresses or paths, are logged).
    const checks = report.checks.map(({ name, ok }) => ({ name, ok }));
    return c.json({ status: report.ready ? "ready" : "not_ready", checks }, report.ready ? 200 : 503, {
      "cache-control": "no-store",
    });
  });
  // No auth, like most Prometheus targets: every series is an aggregate with bounded labels (no principal, runner id or
  // path), and the default bind is loopback. The host guard still stops DNS-rebinding pages from reading it.
  app.get("/metrics", hostGuard, async (c) =>
    c.body(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType }),
  );

  // RFC 9728: public, so clients that got a 401 find the authorization server; the root form and the resource's own.
  const resource = deps.protectedResource;
  if (resource) {
    const serveMetadata = (c: Context<AppEnv>) =>
      c.json(resource.document, 200, { "access-control-allow-origin": "*", "cache-control": "max-age=300" });
    app.get(METADATA_ROOT, serveMetadata);
    if (resource.metadataPath !== METADATA_ROOT) app.get(resource.metadataPath, serveMetadata);
  }

  app.use("/mcp", hostGuard, auth);
  app.all("/mcp", (c) => deps.sessions.handle(c.req.raw, c.get("principal")));

  // The agent's debug endpoint is never published; people reach it here, authenticated and owner-checked.
  app.use("/runners/*", hostGuard, auth);
  // The agent's answer is untrusted (root in a runner can replace the agent): only its JSON is taken, and the page is
  // rendered here, escaped, under a CSP that lets nothing load or run.
  app.get("/runners/:runner/debug", async (c) => {
    const runner = c.req.param("runner");
    // The debug view shows the runner's processes: a policy must grant what exec_list would show.
    const policy = c.get("principal").policy;
    if (policy?.tools && !policy.tools.has("exec_list")) {
      deps.audit.record({
        action: "policy.denied",
        principal: c.get("principal").id,
        outcome: "denied",
        request: "runner.debug",
        policy: policy.name,
        what: "tools",
        runner,
      });
      return c.json(
        {
          error: "policy_denied",
          message: `policy "${policy.name}" (rule tools) does not allow the debug view (it takes exec_list); ask the operator if you need it.`,
        },
        403,
        DEBUG_PAGE_HEADERS,
      );
    }
    try {
      const snapshot = await deps.debugView(c.get("principal"), runner);
      if ((c.req.header("accept") ?? "").includes("text/html")) {
        return c.body(renderDebugPage(runner, snapshot), 200, {
          ...DEBUG_PAGE_HEADERS,
          "content-type": "text/html; charset=utf-8",
        });
      }
      return c.json(snapshot, 200, DEBUG_PAGE_HEADERS);
    } catch (error) {
      const failure = asControlPlaneError(error);
      if (!(error instanceof ControlPlaneError)) deps.log.error({ err: error, runner }, "debug view failed");
      return c.json(
        { error: failure.code.toLowerCase(), message: failure.message },
        debugFailureStatus(failure.code),
        DEBUG_PAGE_HEADERS,
      );
    }
  });

  app.notFound((c) =>
    c.json({ error: "not_found", message: `No route for ${c.req.method} ${c.req.path}; MCP is served at /mcp.` }, 404),
  );
  app.onError((error, c) => {
    deps.log.error({ err: error, path: c.req.path }, "unhandled error");
    return c.json({ error: "internal_error", request_id: c.get("requestId") }, 500);
  });
  return app;
}
