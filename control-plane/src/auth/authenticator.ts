import type { Principal } from "./principal.js";

/** Why a request was refused at the door (a bounded label of devhatchery_auth_failures_total). */
export type AuthFailureReason =
  "missing" | "invalid" | "expired" | "insufficient_scope" | "policy_denied" | "provider_unavailable";

/** What a valid access token of an OpenID Provider said about itself (for the audit log; never the token). */
export interface TokenFacts {
  issuer: string;
  jti: string | undefined;
  clientId: string | undefined;
  scopes: string[];
}

/** Who a credential belongs to, before policy: the principal id, its groups and how it was proven. */
export interface Identity {
  id: string;
  groups: readonly string[];
  method: "none" | "bearer" | "oidc";
  token?: TokenFacts;
}

/** A refusal: the HTTP status, the RFC 6750 error code for WWW-Authenticate, and a description safe to show. */
export interface AuthRefusal {
  ok: false;
  status: 401 | 403 | 503;
  /** RFC 6750 error; undefined when no credential was sent (the challenge then carries no error). */
  error: "invalid_request" | "invalid_token" | "insufficient_scope" | undefined;
  reason: AuthFailureReason;
  /** Says what was wrong and how to fix it; never the token, and nothing a guesser could use. */
  description: string;
  /** Who was refused, when the credential was valid and only the policy refused it (for the audit log). */
  principal?: string;
}

export type AuthResult = { ok: true; principal: Principal; identity: Identity } | AuthRefusal;

/** Maps an Authorization header to a principal with its policy, or to a refusal. */
export type Authenticator = (authorization: string | undefined) => Promise<AuthResult>;

/** A credential checker for one kind of token: an identity, a refusal, or undefined when it does not know the token. */
export type CredentialCheck = (token: string) => Promise<Identity | AuthRefusal | undefined>;

export function refusal(
  status: AuthRefusal["status"],
  error: AuthRefusal["error"],
  reason: AuthFailureReason,
  description: string,
): AuthRefusal {
  return { ok: false, status, error, reason, description };
}
