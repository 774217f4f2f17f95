import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestOpenIdProvider, type TestOpenIdProvider } from "../../../test/oidc-provider.js";
import { loadConfig } from "../../config.js";
import type { AuthResult } from "../authenticator.js";
import { createAuthenticator, type AuthSetup } from "../create-authenticator.js";

const RESOURCE = "http://127.0.0.1:8080/mcp";
const OTHER = "https://other.example/mcp";
const OPAQUE = "https://opaque.example/mcp";
const COOLDOWN_MS = 300;
const BOT_TOKEN = "bot-token-0123456789abcdef";

let op: TestOpenIdProvider;
let door: AuthSetup;
const dir = mkdtempSync(join(tmpdir(), "devhatchery-oidc-test-"));

/** The authenticator a control plane would build from this configuration (file + environment, validated). */
function authenticatorFor(env: Record<string, string>): AuthSetup {
  const configFile = join(dir, "devhatchery.yaml");
  writeFileSync(
    configFile,
    [
      "auth:",
      "  tokens:",
      `    - { principal: bot, token_sha256: ${createHash("sha256").update(BOT_TOKEN).digest("hex")}, groups: [builders] }`,
      "policies:",
      "  - { name: builders, groups: [builders], tools: [read, exec] }",
      "  - { name: readers, principals: [auditor], tools: [read] }",
      "",
    ].join("\n"),
  );
  return createAuthenticator(
    loadConfig(
      {
        HOME: dir,
        DEVHATCHERY_AUTH: "oidc",
        DEVHATCHERY_OIDC_ISSUER: op.issuer,
        DEVHATCHERY_OIDC_AUDIENCE: RESOURCE,
        DEVHATCHERY_OIDC_SCOPES: "devhatchery",
        DEVHATCHERY_OIDC_JWKS_COOLDOWN_MS: String(COOLDOWN_MS),
        DEVHATCHERY_DEFAULT_POLICY: "deny",
        ...env,
      },
      configFile,
    ),
  );
}

const bearer = (token: string): Promise<AuthResult> => door.authenticate(`Bearer ${token}`);

/** A token signed with the provider's own current key (so only the claims are hostile). */
async function mint(claims: Record<string, unknown>, key: JWK = op.signingKey(), alg = "RS256"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: op.issuer,
    aud: RESOURCE,
    sub: "mallory",
    scope: "devhatchery",
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg, kid: key.kid, typ: "at+jwt" })
    .sign(await importJWK(key, alg));
}

function refused(result: AuthResult): { status: number; error: string | undefined; reason: string } {
  if (result.ok) throw new Error(`expected a refusal, got principal ${result.principal.id}`);
  return { status: result.status, error: result.error, reason: result.reason };
}

beforeAll(async () => {
  op = await startTestOpenIdProvider({
    resources: [RESOURCE, OTHER],
    opaqueResources: [OPAQUE],
    machineClients: { ci: { groups: ["builders"] }, auditor: {}, outsider: {}, bot: {} },
  });
  door = authenticatorFor({});
  await door.discover();
});
afterAll(async () => {
  await op?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the OIDC authenticator against a real OpenID Provider", () => {
  it("accepts a client-credentials JWT: the principal from sub, groups from groups, the first matching policy", async () => {
    const result = await bearer(await op.clientCredentialsToken("ci"));
    if (!result.ok) throw new Error(result.description);
    expect(result.principal).toMatchObject({ id: "ci", groups: ["builders"], policy: { name: "builders" } });
    expect([...result.principal.policy!.tools!].sort()).toContain("exec");
    expect(result.identity.token).toMatchObject({ issuer: op.issuer, jti: expect.any(String), clientId: "ci" });
    const auditor = await bearer(await op.clientCredentialsToken("auditor"));
    expect(auditor.ok && auditor.principal.policy?.name).toBe("readers");
  });

  it("refuses a caller no policy names with the deny default (403, not a scope problem)", async () => {
    expect(refused(await bearer(await op.clientCredentialsToken("outsider")))).toEqual({
      status: 403,
      error: undefined,
      reason: "policy_denied",
    });
  });

  it("keeps bearer tokens working beside OIDC, and no token of the provider can act as a bearer principal", async () => {
    const bot = await bearer(BOT_TOKEN);
    expect(bot.ok && bot.principal).toMatchObject({ id: "bot", groups: ["builders"], policy: { name: "builders" } });
    const impostor = refused(await bearer(await op.clientCredentialsToken("bot")));
    expect(impostor).toEqual({ status: 401, error: "invalid_token", reason: "invalid" });
  });

  it.each<[string, () => Promise<string>, { status: number; error: string; reason: string }]>([
    ["a token for another resource", () => op.clientCredentialsToken("ci", { resource: OTHER }), invalid()],
    ["an expired token", () => mint({ exp: Math.floor(Date.now() / 1000) - 120 }), { ...invalid(), reason: "expired" }],
    ["a token not valid yet", () => mint({ nbf: Math.floor(Date.now() / 1000) + 600 }), invalid()],
    ["a token of another issuer", () => mint({ iss: "https://evil.example" }), invalid()],
    ["a token without exp", () => mint({ exp: undefined }), invalid()],
    ["a token signed with a key the issuer does not publish", () => unknownKeyToken(), invalid()],
    ["alg none", () => unsigned(), invalid()],
    ["HS256 keyed with the issuer's public key", () => hmacWithPublicKey(), invalid()],
    ["a token without the required scope", () => mint({ scope: "openid" }), scopeProblem()],
    ["a token that names no principal", () => mint({ sub: undefined }), invalid()],
    [
      "an opaque token while introspection is off",
      () => op.clientCredentialsToken("ci", { resource: OPAQUE }),
      invalid(),
    ],
    ["garbage", () => Promise.resolve("not-a-token-at-all"), invalid()],
  ])("refuses %s", async (_name, token, expected) => {
    expect(refused(await bearer(await token()))).toEqual(expected);
  });

  it("allows clock skew within clock_skew_s", async () => {
    const result = await bearer(
      await mint({ sub: "ci", groups: ["builders"], exp: Math.floor(Date.now() / 1000) - 5 }),
    );
    expect(result.ok).toBe(true);
  });

  it("fetches the keys again for an unknown key id at most once per cooldown", async () => {
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 50));
    const before = op.requestCount("/jwks");
    const hostile = await Promise.all(Array.from({ length: 5 }, () => unknownKeyToken()));
    for (const token of hostile) expect(refused(await bearer(token)).status).toBe(401);
    expect(op.requestCount("/jwks") - before).toBe(1);
  });

  it("follows key rotation: a token signed with the new key is accepted once the cooldown has passed", async () => {
    await op.rotateKeys();
    const token = await op.clientCredentialsToken("ci");
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 50));
    const result = await bearer(token);
    expect(result.ok, result.ok ? "" : result.description).toBe(true);
  });

  it("introspects opaque tokens when a client is configured (RFC 7662), the principal being the client", async () => {
    const secretFile = join(dir, "introspection-secret");
    writeFileSync(secretFile, `${op.clientSecret("auditor")}\n`);
    const introspecting = authenticatorFor({
      DEVHATCHERY_OIDC_AUDIENCE: OPAQUE,
      DEVHATCHERY_OIDC_RESOURCE: RESOURCE,
      DEVHATCHERY_OIDC_INTROSPECTION_CLIENT_ID: "auditor",
      DEVHATCHERY_OIDC_INTROSPECTION_SECRET_FILE: secretFile,
    });
    const token = await op.clientCredentialsToken("ci", { resource: OPAQUE });
    const result = await introspecting.authenticate(`Bearer ${token}`);
    expect(result.ok && result.principal).toMatchObject({ id: "ci", groups: ["builders"] });
    const calls = op.requestCount("/token/introspection");
    expect((await introspecting.authenticate(`Bearer ${token}`)).ok).toBe(true);
    expect(op.requestCount("/token/introspection")).toBe(calls);
    expect(refused(await introspecting.authenticate("Bearer opaque-but-unknown-token"))).toEqual(invalid());
  });

  it("answers 503 (not 401) while the provider cannot be reached", async () => {
    const offline = authenticatorFor({ DEVHATCHERY_OIDC_ISSUER: "http://127.0.0.1:9/" });
    await expect(offline.discover()).rejects.toThrow(/no metadata for issuer/);
    expect(refused(await offline.authenticate(`Bearer ${await op.clientCredentialsToken("ci")}`))).toEqual({
      status: 503,
      error: undefined,
      reason: "provider_unavailable",
    });
  });
});

function invalid() {
  return { status: 401, error: "invalid_token", reason: "invalid" };
}

function scopeProblem() {
  return { status: 403, error: "insufficient_scope", reason: "insufficient_scope" };
}

async function unknownKeyToken(): Promise<string> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return mint({}, { ...(await exportJWK(privateKey)), kid: `unknown-${Math.random()}` });
}

async function unsigned(): Promise<string> {
  const signed = await mint({ sub: "ci" });
  const [, payload] = signed.split(".");
  const header = Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url");
  return `${header}.${payload}.`;
}

async function hmacWithPublicKey(): Promise<string> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = op.signingKey();
  const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: op.issuer, aud: RESOURCE, sub: "ci", scope: "devhatchery", exp: now + 300 })
    .setProtectedHeader({ alg: "HS256", kid: publicJwk.kid })
    .sign(secret);
}
