import type { MiddlewareHandler } from "hono";
import type { AuditLog } from "../audit.js";
import type { AuthFailureReason, Authenticator, AuthRefusal, Identity } from "../auth/authenticator.js";
import type { Principal } from "../auth/principal.js";
import type { ProtectedResource } from "../auth/protected-resource.js";
import type { Logger } from "../log.js";
import { currentRequestContext } from "../request-context.js";
import { remoteAddress } from "./remote-address.js";

export type AppEnv = { Variables: { principal: Principal; requestId: string } };

/** Where an authentication failure is reported besides the log: the audit trail and the auth failure counter. */
export interface AuthFailureObserver {
  audit: AuditLog;
  authFailed(reason: AuthFailureReason): void;
}

/** OIDC tokens already recorded (by jti) in the audit log, so a token is recorded once, not on every request. */
const SEEN_TOKENS_LIMIT = 10_000;

/** RFC 6750 §3 challenge: the realm, the resource metadata (RFC 9728) and scope with OIDC, the error when one applies. */
export function challengeOf(refused: AuthRefusal, resource: ProtectedResource | undefined): string {
  const quoted = (value: string): string => `"${value.replace(/["\\]/g, "")}"`;
  const params = [`realm="devhatchery"`];
  if (resource) params.push(`resource_metadata=${quoted(resource.metadataUrl)}`);
  if (resource?.scope) params.push(`scope=${quoted(resource.scope)}`);
  if (refused.error) params.push(`error=${quoted(refused.error)}`);
  if (refused.error && resource) params.push(`error_description=${quoted(refused.description)}`);
  return `Bearer ${params.join(", ")}`;
}

/**
 * Resolves the caller's principal, or answers 401 (no or bad credentials), 403 (insufficient scope, or a policy that
 * refuses the caller) or 503 (the identity provider cannot be asked), with a WWW-Authenticate challenge; every
 * refusal is logged and audited, never with the token. An OIDC token's issuer and jti are audited once.
 */
export function createAuthMiddleware(
  authenticate: Authenticator,
  log: Logger,
  observer: AuthFailureObserver,
  resource?: ProtectedResource,
): MiddlewareHandler<AppEnv> {
  const seenTokens = new Set<string>();
  const recordToken = (identity: Identity, policy: string): void => {
    const token = identity.token;
    if (!token?.jti || seenTokens.has(token.jti)) return;
    if (seenTokens.size >= SEEN_TOKENS_LIMIT) seenTokens.delete(seenTokens.values().next().value!);
    seenTokens.add(token.jti);
    observer.audit.record({
      action: "auth.token",
      principal: identity.id,
      outcome: "ok",
      issuer: token.issuer,
      jti: token.jti,
      client_id: token.clientId,
      groups: identity.groups,
      policy,
    });
  };
  return async (c, next) => {
    const header = c.req.header("authorization");
    const result = await authenticate(header);
    if (!result.ok) {
      const remote = remoteAddress(c);
      log.warn({ path: c.req.path, reason: result.reason, status: result.status, remote }, "authentication failed");
      observer.authFailed(result.reason);
      observer.audit.record({
        action: result.reason === "policy_denied" ? "policy.denied" : "auth.failure",
        principal: result.principal ?? "anonymous",
        outcome: "denied",
        reason: result.reason,
        detail: result.description,
        remote,
        method: c.req.method,
        path: c.req.path,
      });
      if (result.status === 503) c.header("Retry-After", "5");
      if (result.status !== 503 && (result.status === 401 || result.error))
        c.header("WWW-Authenticate", challengeOf(result, resource));
      const what = result.status === 401 ? "Unauthorized" : result.status === 403 ? "Forbidden" : "Service Unavailable";
      return c.json(
        { jsonrpc: "2.0", error: { code: -32001, message: `${what}: ${result.description}.` }, id: null },
        result.status,
      );
    }
    recordToken(result.identity, result.principal.policy?.name ?? "unrestricted");
    c.set("principal", result.principal);
    const context = currentRequestContext();
    if (context) context.principal = result.principal.id;
    await next();
  };
}
