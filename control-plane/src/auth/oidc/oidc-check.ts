import type { OidcConfig } from "../../config.js";
import { refusal, type AuthRefusal, type CredentialCheck, type Identity } from "../authenticator.js";
import { AccessTokenVerifier, TokenRejectedError } from "./access-token-verifier.js";
import { ProviderConnection, ProviderUnavailableError } from "./provider-metadata.js";
import { claimAt, principalIdOf, scopesOf, stringList } from "./token-claims.js";

export interface OidcCheck {
  check: CredentialCheck;
  /** Fetches the provider's metadata now (start-up warm-up and readiness); rejects with what went wrong. */
  discover(): Promise<void>;
}

/**
 * Access tokens of the configured OpenID Provider → identities: the principal from principal_claim, groups from
 * groups_claim, every required scope present (else 403 insufficient_scope). `reserved` are the bearer principals:
 * a token naming one of them is refused, so an identity provider can never speak for a static-token principal.
 */
export function createOidcCheck(config: OidcConfig, reserved: ReadonlySet<string>): OidcCheck {
  const provider = new ProviderConnection(config.issuer, config.httpTimeoutMs);
  const verifier = new AccessTokenVerifier(config, provider);
  const check: CredentialCheck = async (token): Promise<Identity | AuthRefusal> => {
    let claims: Record<string, unknown>;
    try {
      claims = await verifier.verify(token);
    } catch (error) {
      if (error instanceof TokenRejectedError)
        return refusal(401, "invalid_token", error.reason, `${error.message}; get a new token and retry`);
      if (error instanceof ProviderUnavailableError)
        return refusal(
          503,
          undefined,
          "provider_unavailable",
          "the identity provider cannot be reached to check the token; retry shortly",
        );
      throw error;
    }
    // An introspected client-credentials token has no sub: the client is the principal, as sub names it in a JWT.
    const value =
      claimAt(claims, config.principalClaim) ?? (config.principalClaim === "sub" ? claims.client_id : undefined);
    if ((typeof value !== "string" || value === "") && typeof value !== "number")
      return refusal(
        401,
        "invalid_token",
        "invalid",
        `the access token has no "${config.principalClaim}" claim to name a principal; ask the provider to include it, or set auth.oidc.principal_claim`,
      );
    const id = principalIdOf(String(value));
    if (reserved.has(id))
      return refusal(
        401,
        "invalid_token",
        "invalid",
        `principal "${id}" belongs to a bearer token on this server; an identity provider cannot act as it`,
      );
    const scopes = scopesOf(claims);
    const missing = config.scopes.filter((scope) => !scopes.includes(scope));
    if (missing.length > 0)
      return refusal(
        403,
        "insufficient_scope",
        "insufficient_scope",
        `the access token lacks the scope ${missing.join(" ")}; ask for a token with scope "${config.advertisedScopes.join(" ")}"`,
      );
    return {
      id,
      groups: stringList(claimAt(claims, config.groupsClaim)),
      method: "oidc",
      token: {
        issuer: config.issuer,
        // Entra ID names its token id uti.
        jti: typeof claims.jti === "string" ? claims.jti : typeof claims.uti === "string" ? claims.uti : undefined,
        clientId:
          typeof claims.client_id === "string"
            ? claims.client_id
            : typeof claims.azp === "string"
              ? claims.azp
              : undefined,
        scopes,
      },
    };
  };
  return {
    check,
    discover: async () => {
      await provider.metadata();
    },
  };
}
