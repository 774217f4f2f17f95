import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { PrometheusMetrics } from "../observability/prometheus-metrics.js";
import type { AppEnv } from "./auth-middleware.js";

const KNOWN_METHODS = new Set(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]);

/**
 * Observes each request's latency by method, matched route pattern (never the raw path: "/runners/:runner/debug",
 * "unmatched" for a 404 without a route) and status. For an SSE response that is the time until its headers.
 */
export function createHttpMetricsMiddleware(metrics: PrometheusMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = routePath(c, -1);
      const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : "OTHER";
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequest(method, route === "*" || route === "/*" ? "unmatched" : route, c.res.status, seconds);
    }
  };
}
