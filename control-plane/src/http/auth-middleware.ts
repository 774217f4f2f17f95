import type { MiddlewareHandler } from "hono";
import type { AuditLog } from "../audit.js";
import type { Authenticator } from "../auth/bearer-authenticator.js";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log.js";
import type { AuthFailureReason } from "../observability/prometheus-metrics.js";
import { currentRequestContext } from "../request-context.js";
import { remoteAddress } from "./remote-address.js";

export type AppEnv = { Variables: { principal: Principal; requestId: string } };

/** Where an authentication failure is reported besides the log: the audit trail and the auth failure counter. */
export interface AuthFailureObserver {
  audit: AuditLog;
  authFailed(reason: AuthFailureReason): void;
}

/** Resolves the caller's principal or answers 401 with a WWW-Authenticate challenge (audited, never the token). */
export function createAuthMiddleware(
  authenticate: Authenticator,
  log: Logger,
  observer: AuthFailureObserver,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const principal = authenticate(header);
    if (!principal) {
      const reason: AuthFailureReason = header ? "invalid" : "missing";
      const remote = remoteAddress(c);
      log.warn({ path: c.req.path, reason, remote }, "authentication failed");
      observer.authFailed(reason);
      observer.audit.record({
        action: "auth.failure",
        principal: "anonymous",
        outcome: "denied",
        reason,
        remote,
        method: c.req.method,
        path: c.req.path,
      });
      c.header("WWW-Authenticate", 'Bearer realm="devhatchery", error="invalid_token"');
      return c.json(
        {
          jsonrpc: "2.0",
          error: {
            code: -32001,
            message: "Unauthorized: send `Authorization: Bearer <token>` with a token configured on the server.",
          },
          id: null,
        },
        401,
      );
    }
    c.set("principal", principal);
    const context = currentRequestContext();
    if (context) context.principal = principal.id;
    await next();
  };
}
