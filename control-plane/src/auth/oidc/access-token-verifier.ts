import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import type { OidcConfig } from "../../config.js";
import { ProviderUnavailableError, type ProviderConnection } from "./provider-metadata.js";

/** A token refused for what it is (not for an outage): `expired` or `invalid`, with a description safe to show. */
export class TokenRejectedError extends Error {
  override readonly name = "TokenRejectedError";
  constructor(
    readonly reason: "expired" | "invalid",
    message: string,
  ) {
    super(message);
  }
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_CACHED_INTROSPECTIONS = 10_000;

/** jose's error for a token, in words a client can act on; outages become ProviderUnavailableError. */
function rejection(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return new TokenRejectedError("expired", "the access token has expired");
  if (error instanceof errors.JWTClaimValidationFailed)
    return new TokenRejectedError(
      "invalid",
      `the access token's ${error.claim} claim is not accepted: ${error.reason}`,
    );
  if (error instanceof errors.JWKSNoMatchingKey)
    return new TokenRejectedError("invalid", "the access token is signed with a key the issuer does not publish");
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenRejectedError("invalid", "the access token's signature algorithm is not accepted");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
    return new ProviderUnavailableError(`the issuer's keys could not be fetched: ${error.message}`);
  if (error instanceof errors.JOSEError) return new TokenRejectedError("invalid", "the access token is not valid");
  if (error instanceof TypeError || (error instanceof Error && error.name === "AbortError"))
    return new ProviderUnavailableError(`the issuer's keys could not be fetched: ${error.message}`);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Validates access tokens for one resource: JWTs against the issuer's published keys (found by discovery, cached,
 * fetched again for an unknown key id at most once per cooldown), checking iss, aud, exp and nbf with the configured
 * skew and only asymmetric algorithms; opaque tokens by RFC 7662 introspection when a client is configured.
 * Returns the token's claims; throws TokenRejectedError or ProviderUnavailableError.
 */
export class AccessTokenVerifier {
  private keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly introspected = new Map<string, { claims: JWTPayload; until: number }>();
  private readonly introspectionSecret: string | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly provider: ProviderConnection,
  ) {
    // Read at start-up (validate checked it exists): a rotated secret needs a restart, like a rotated bearer token.
    this.introspectionSecret = config.introspection
      ? readFileSync(config.introspection.secretFile, "utf8").trim()
      : undefined;
  }

  async verify(token: string): Promise<JWTPayload> {
    if (JWS_COMPACT.test(token)) return this.verifyJwt(token);
    if (this.config.introspection) return this.introspect(token);
    throw new TokenRejectedError(
      "invalid",
      "the access token is not a JWT and this server does not introspect opaque tokens; ask the provider for a JWT access token for this resource",
    );
  }

  private async verifyJwt(token: string): Promise<JWTPayload> {
    const metadata = await this.provider.metadata();
    this.keys ??= createRemoteJWKSet(new URL(metadata.jwks_uri), {
      cooldownDuration: this.config.jwksCooldownMs,
      cacheMaxAge: this.config.jwksMaxAgeMs,
      timeoutDuration: this.config.httpTimeoutMs,
    });
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockSkewS,
        requiredClaims: ["exp"],
      });
      return payload;
    } catch (error) {
      throw rejection(error);
    }
  }

  private async introspect(token: string): Promise<JWTPayload> {
    const introspection = this.config.introspection!;
    const key = createHash("sha256").update(token).digest("base64url");
    const cached = this.introspected.get(key);
    if (cached && cached.until > Date.now()) return checkTimes(cached.claims, this.config.clockSkewS);
    const metadata = await this.provider.metadata();
    if (!metadata.introspection_endpoint)
      throw new ProviderUnavailableError("the issuer publishes no introspection_endpoint");
    let answer: Response;
    try {
      answer = await fetch(metadata.introspection_endpoint, {
        method: "POST",
        signal: AbortSignal.timeout(this.config.httpTimeoutMs),
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(introspection.clientId)}:${encodeURIComponent(this.introspectionSecret!)}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }),
      });
    } catch (error) {
      throw new ProviderUnavailableError(`token introspection failed: ${(error as Error).message}`);
    }
    if (!answer.ok) throw new ProviderUnavailableError(`token introspection answered ${answer.status}`);
    const claims = (await answer.json()) as JWTPayload & { active?: unknown };
    if (claims.active !== true) throw new TokenRejectedError("invalid", "the access token is not active");
    if (claims.iss !== undefined && claims.iss !== this.config.issuer)
      throw new TokenRejectedError("invalid", "the access token's iss claim is not accepted: unexpected issuer");
    const audiences = typeof claims.aud === "string" ? [claims.aud] : (claims.aud ?? []);
    if (!audiences.includes(this.config.audience))
      throw new TokenRejectedError(
        "invalid",
        "the access token's aud claim is not accepted: it is for another resource",
      );
    checkTimes(claims, this.config.clockSkewS);
    const until = Math.min(Date.now() + introspection.cacheMs, (claims.exp ?? Infinity) * 1000);
    if (this.introspected.size >= MAX_CACHED_INTROSPECTIONS)
      this.introspected.delete(this.introspected.keys().next().value!);
    this.introspected.set(key, { claims, until });
    return claims;
  }
}

function checkTimes(claims: JWTPayload, skewS: number): JWTPayload {
  const now = Date.now() / 1000;
  if (typeof claims.exp === "number" && claims.exp + skewS < now)
    throw new TokenRejectedError("expired", "the access token has expired");
  if (typeof claims.nbf === "number" && claims.nbf - skewS > now)
    throw new TokenRejectedError("invalid", "the access token's nbf claim is not accepted: not yet valid");
  return claims;
}
