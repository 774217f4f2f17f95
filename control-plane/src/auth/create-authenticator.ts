import type { ControlPlaneConfig } from "../config.js";
import { refusal, type Authenticator, type CredentialCheck, type Identity } from "./authenticator.js";
import { createBearerCheck } from "./bearer-authenticator.js";
import { createOidcCheck } from "./oidc/oidc-check.js";
import { PolicyResolver } from "./principal-policy.js";
import { LOCAL_PRINCIPAL } from "./principal.js";
import { protectedResourceOf, type ProtectedResource } from "./protected-resource.js";

/** The door of the HTTP surface: the authenticator, and with OIDC the protected-resource metadata and discovery. */
export interface AuthSetup {
  authenticate: Authenticator;
  /** Set with auth.mode oidc: published at its well-known paths and named in challenges. */
  protectedResource: ProtectedResource | undefined;
  /** Fetches the provider's metadata (oidc); resolves at once otherwise. */
  discover(): Promise<void>;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * Credentials → principal with its policy. `none`: the local principal. `bearer`: configured tokens. `oidc`: the
 * provider's access tokens, and configured bearer tokens beside them (mixed mode, for machine agents). A caller whose
 * policy is "deny" is refused here, so nothing behind the door ever sees it.
 */
export function createAuthenticator(
  config: Pick<ControlPlaneConfig, "auth" | "policies" | "defaultPolicy">,
): AuthSetup {
  const policies = new PolicyResolver(config.policies, config.defaultPolicy);
  const { mode, tokens, oidc } = config.auth;
  const checks: CredentialCheck[] = [];
  if (mode !== "none" && tokens.length > 0) checks.push(createBearerCheck(tokens));
  const oidcCheck =
    mode === "oidc" && oidc ? createOidcCheck(oidc, new Set(tokens.map((t) => t.principal))) : undefined;
  if (oidcCheck) checks.push(oidcCheck.check);

  const admit = (identity: Identity) => {
    const { policy } = policies.resolve(identity.id, identity.groups);
    if (policy.denyAll)
      return {
        ...refusal(
          403,
          undefined,
          "policy_denied",
          `policy "${policy.name}" refuses principal "${identity.id}" (no policy names it or its groups); ask the operator to assign one`,
        ),
        principal: identity.id,
      };
    return { ok: true as const, principal: { id: identity.id, groups: identity.groups, policy }, identity };
  };

  const authenticate: Authenticator = async (authorization) => {
    if (mode === "none") return admit({ id: LOCAL_PRINCIPAL.id, groups: [], method: "none" });
    if (!authorization)
      return refusal(
        401,
        undefined,
        "missing",
        "send `Authorization: Bearer <token>` with a token this server accepts",
      );
    const token = BEARER.exec(authorization)?.[1];
    if (!token)
      return refusal(
        401,
        "invalid_request",
        "invalid",
        "the Authorization header must be `Bearer <token>` (one token)",
      );
    for (const check of checks) {
      const outcome = await check(token);
      if (outcome === undefined) continue;
      return "ok" in outcome ? outcome : admit(outcome);
    }
    return refusal(401, "invalid_token", "invalid", "the token is not valid on this server");
  };

  return {
    authenticate,
    protectedResource: mode === "oidc" && oidc ? protectedResourceOf(oidc) : undefined,
    discover: async () => {
      await oidcCheck?.discover();
    },
  };
}
