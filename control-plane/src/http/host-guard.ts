import { isIP } from "node:net";
import type { MiddlewareHandler } from "hono";
import { NO_AUDIT, type AuditLog } from "../audit.js";
import { isLoopbackHost } from "../config.js";
import { remoteAddress } from "./remote-address.js";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "::1"];
/** Bind addresses no client addresses a request to: a wildcard bind is reached under some other name. */
const WILDCARD_ADDRESSES = new Set(["0.0.0.0", "::", "[::]"]);

export interface HostGuardOptions {
  listenHost: string;
  allowedHosts: string[];
  allowedOrigins: string[];
}

/** The listen address as a Host header names it (IPv6 in brackets); nothing for a wildcard bind. */
function listenHostNames(listenHost: string): string[] {
  const host = listenHost.toLowerCase();
  if (WILDCARD_ADDRESSES.has(host)) return [];
  return [isIP(host) === 6 ? `[${host}]` : host];
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1).toLowerCase();
  return hostHeader.split(":")[0]!.toLowerCase();
}

/**
 * DNS-rebinding protection for /mcp: the Host header must name this server, and a browser Origin must be one
 * we trust. Loopback names, the listen address and the configured hosts pass; off loopback with no hosts
 * configured any host passes (auth is mandatory off loopback).
 */
export function createHostGuard(options: HostGuardOptions, audit: AuditLog = NO_AUDIT): MiddlewareHandler {
  const loopback = isLoopbackHost(options.listenHost);
  // Loopback names and the literal listen address are safe on any bind: a rebinding page reaches us under the domain
  // name it rebinds, so its Host is that name, never "localhost" or our IP literal; only names an attacker controls
  // must be refused. Accepting them also keeps `devhatchery debug` (127.0.0.1) working next to allowed_hosts.
  const hosts = new Set([
    ...options.allowedHosts.map((host) => host.toLowerCase()),
    ...LOOPBACK_NAMES,
    ...listenHostNames(options.listenHost),
  ]);
  const anyHost = !loopback && options.allowedHosts.length === 0;
  const origins = new Set(options.allowedOrigins.map((origin) => origin.toLowerCase()));
  const hostAllowed = (hostname: string): boolean => anyHost || hosts.has(hostname);

  return async (c, next) => {
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!host || !hostAllowed(hostnameOf(host))) {
      audit.record({
        action: "policy.denied",
        principal: "anonymous",
        outcome: "denied",
        rule: "host",
        host,
        remote: remoteAddress(c),
        path: c.req.path,
      });
      const message = `Host "${host}" is not allowed; add "${hostnameOf(host)}" (the name without the port) to auth.allowed_hosts or DEVHATCHERY_ALLOWED_HOSTS.`;
      return c.json({ error: "forbidden_host", message }, 403);
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
        audit.record({
          action: "policy.denied",
          principal: "anonymous",
          outcome: "denied",
          rule: "origin",
          origin,
          remote: remoteAddress(c),
          path: c.req.path,
        });
        return c.json(
          {
            error: "forbidden_origin",
            message: `Origin "${origin}" is not allowed; add it to auth.allowed_origins or DEVHATCHERY_ALLOWED_ORIGINS.`,
          },
          403,
        );
      }
    }
    await next();
  };
}
