import type { MiddlewareHandler } from "hono";
import type { Authenticator } from "../auth/bearer-authenticator.js";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log.js";

export type AppEnv = { Variables: { principal: Principal; requestId: string } };

/** Resolves the caller's principal or answers 401 with a WWW-Authenticate challenge. */
export function createAuthMiddleware(authenticate: Authenticator, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = authenticate(c.req.header("authorization"));
    if (!principal) {
      log.warn({ requestId: c.get("requestId"), path: c.req.path, remote: c.req.header("x-forwarded-for") }, "authentication failed");
      c.header("WWW-Authenticate", 'Bearer realm="devhatchery", error="invalid_token"');
      return c.json(
        { jsonrpc: "2.0", error: { code: -32001, message: "Unauthorized: send `Authorization: Bearer <token>` with a token configured on the server." }, id: null },
        401,
      );
    }
    c.set("principal", principal);
    await next();
  };
}
