import type { MiddlewareHandler } from "hono";
import { NO_AUDIT, type AuditLog } from "../audit.js";
import { isLoopbackHost } from "../config.js";
import { remoteAddress } from "./remote-address.js";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "::1"];

export interface HostGuardOptions {
  listenHost: string;
  allowedHosts: string[];
  allowedOrigins: string[];
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1).toLowerCase();
  return hostHeader.split(":")[0]!.toLowerCase();
}

/**
 * DNS-rebinding protection for /mcp: the Host header must name this server, and a browser Origin must be one
 * we trust. On a loopback bind only loopback names pass; elsewhere the configured hosts, or any host when none
 * are configured (auth is mandatory off loopback).
 */
export function createHostGuard(options: HostGuardOptions, audit: AuditLog = NO_AUDIT): MiddlewareHandler {
  const loopback = isLoopbackHost(options.listenHost);
  const hosts = new Set([...options.allowedHosts.map((host) => host.toLowerCase()), ...(loopback ? LOOPBACK_NAMES : [])]);
  const anyHost = !loopback && options.allowedHosts.length === 0;
  const origins = new Set(options.allowedOrigins.map((origin) => origin.toLowerCase()));
  const hostAllowed = (hostname: string): boolean => anyHost || hosts.has(hostname);

  return async (c, next) => {
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!host || !hostAllowed(hostnameOf(host))) {
      audit.record({ action: "policy.denied", principal: "anonymous", outcome: "denied", rule: "host", host, remote: remoteAddress(c), path: c.req.path });
      return c.json({ error: "forbidden_host", message: `Host "${host}" is not allowed; add it to DEVHATCHERY_ALLOWED_HOSTS.` }, 403);
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && !origins.has(origin.toLowerCase())) {
      let originHost = "";
      try {
        originHost = hostnameOf(new URL(origin).host);
      } catch {
        // Not a URL: rejected below.
      }
      if (!originHost || !hostAllowed(originHost)) {
        audit.record({ action: "policy.denied", principal: "anonymous", outcome: "denied", rule: "origin", origin, remote: remoteAddress(c), path: c.req.path });
        return c.json({ error: "forbidden_origin", message: `Origin "${origin}" is not allowed; add it to DEVHATCHERY_ALLOWED_ORIGINS.` }, 403);
      }
    }
    await next();
  };
}
