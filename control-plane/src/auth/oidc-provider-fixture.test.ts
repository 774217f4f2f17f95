import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InMemoryOAuthClientProvider,
  startTestOpenIdProvider,
  type TestOpenIdProvider,
} from "../../test/oidc-provider.js";

const OTHER_API = "https://other.example/api";
const OPAQUE_API = "https://opaque.example/api";

let op: TestOpenIdProvider;
let resourceServer: Awaited<ReturnType<typeof startResourceMetadataServer>>;
/** The MCP endpoint of the resource server: the provider's default resource. */
let mcpUrl: string;

beforeAll(async () => {
  resourceServer = await startResourceMetadataServer(() => op.issuer);
  mcpUrl = `${resourceServer.origin}/mcp`;
  op = await startTestOpenIdProvider({
    resources: [mcpUrl, OTHER_API],
    opaqueResources: [OPAQUE_API],
    machineClients: { ci: { groups: ["builders"] }, auditor: {} },
  });
});
afterAll(async () => {
  await op?.close();
  await resourceServer?.[Symbol.asyncDispose]();
});

const verify = (token: string, audience: string) =>
  jwtVerify(token, createRemoteJWKSet(new URL(op.jwksUri)), { issuer: op.issuer, audience });

describe("test OpenID provider", () => {
  it("serves discovery at the OpenID and the RFC 8414 paths", async () => {
    for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
      const metadata = (await (await fetch(`${op.issuer}${path}`)).json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        issuer: op.issuer,
        jwks_uri: op.jwksUri,
        registration_endpoint: `${op.issuer}/reg`,
        introspection_endpoint: `${op.issuer}/token/introspection`,
        code_challenge_methods_supported: ["S256"],
      });
      expect(op.requestCount(path)).toBe(1);
    }
  });

  it("issues a client-credentials JWT for the default resource with the client's groups", async () => {
    const { payload, protectedHeader } = await verify(await op.clientCredentialsToken("ci"), mcpUrl);
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "at+jwt", kid: op.signingKey().kid });
    expect(payload).toMatchObject({ sub: "ci", client_id: "ci", scope: "devhatchery", groups: ["builders"] });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  it("issues a token for another resource with that audience", async () => {
    const { payload } = await verify(await op.clientCredentialsToken("ci", { resource: OTHER_API }), OTHER_API);
    expect(payload.aud).toBe(OTHER_API);
  });

  it("rejects a resource it does not know, saying which", async () => {
    await expect(op.clientCredentialsToken("ci", { resource: "https://unknown.example" })).rejects.toThrow(
      /invalid_target.*https:\/\/unknown\.example/,
    );
  });

  it("issues opaque tokens for opaque resources, which a machine client introspects as active", async () => {
    const token = await op.clientCredentialsToken("ci", { resource: OPAQUE_API });
    expect(token.split(".")).toHaveLength(1);
    const response = await fetch(`${op.issuer}/token/introspection`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`auditor:${op.clientSecret("auditor")}`)}` },
      body: new URLSearchParams({ token }),
    });
    const introspection = await response.json();
    expect(introspection).toMatchObject({
      active: true,
      aud: OPAQUE_API,
      client_id: "ci",
      scope: "devhatchery",
      groups: ["builders"],
      iss: op.issuer,
    });
    // oidc-provider puts `sub` only into introspections of tokens issued to a person (a JWT has sub = client_id).
    expect(introspection).not.toHaveProperty("sub");
  });

  it("rotates the signing key: new kid, and the JWKS lists the new key alone or with the old one", async () => {
    const kids = async () =>
      ((await (await fetch(op.jwksUri)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
    const first = op.signingKey().kid!;
    await op.rotateKeys({ keepOld: true });
    const second = op.signingKey().kid!;
    expect(second).not.toBe(first);
    expect(await kids()).toEqual([second, first]);
    expect(decodeProtectedHeader(await op.clientCredentialsToken("ci")).kid).toBe(second);
    await op.rotateKeys();
    expect(await kids()).toEqual([op.signingKey().kid]);
    await verify(await op.clientCredentialsToken("ci"), mcpUrl);
  });

  it("counts requests per path", async () => {
    const before = op.requestCount("/jwks");
    await fetch(op.jwksUri);
    expect(op.requestCount("/jwks")).toBe(before + 1);
  });

  it("completes Authorization Code + PKCE driven by the MCP SDK, registering the client dynamically", async () => {
    op.addAccount({ sub: "alice", groups: ["devs", "ops"], email: "alice@example.test", preferred_username: "alice" });
    const client = new InMemoryOAuthClientProvider("http://127.0.0.1:9/callback");

    expect(await auth(client, { serverUrl: mcpUrl })).toBe("REDIRECT");
    const authorizationUrl = client.authorizationUrl!;
    expect(authorizationUrl.searchParams.get("scope")).toBe("devhatchery");
    expect(authorizationUrl.searchParams.get("resource")).toBe(mcpUrl);

    const callback = await op.authorize(authorizationUrl, "alice");
    expect(`${callback.origin}${callback.pathname}`).toBe("http://127.0.0.1:9/callback");
    const code = callback.searchParams.get("code");
    expect(code, `no code in ${callback}`).toEqual(expect.any(String));

    expect(await auth(client, { serverUrl: mcpUrl, authorizationCode: code! })).toBe("AUTHORIZED");
    const tokens = client.tokens()!;
    const { payload } = await verify(tokens.access_token, mcpUrl);
    expect(payload).toMatchObject({
      sub: "alice",
      aud: mcpUrl,
      scope: "devhatchery",
      groups: ["devs", "ops"],
      email: "alice@example.test",
      preferred_username: "alice",
      client_id: client.clientInformation()!.client_id,
    });
    expect(payload.jti).toEqual(expect.any(String));

    // A later auth() (the transport's answer to a 401) refreshes for the same resource without the browser.
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(await auth(client, { serverUrl: mcpUrl })).toBe("AUTHORIZED");
    const refreshed = client.tokens()!;
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect((await verify(refreshed.access_token, mcpUrl)).payload).toMatchObject({
      sub: "alice",
      groups: ["devs", "ops"],
    });
  });

  it("names an unknown account and an unknown machine client", async () => {
    await expect(op.authorize(`${op.issuer}/auth`, "mallory")).rejects.toThrow(
      'Account "mallory" is not registered; call addAccount({ sub: "mallory" }).',
    );
    expect(() => op.clientSecret("nobody")).toThrow(
      'Machine client "nobody" is not configured; add it to StartOptions.machineClients.',
    );
  });
});

/** A resource server that only serves its RFC 9728 metadata, naming `issuer()` as its authorization server. */
async function startResourceMetadataServer(issuer: () => string) {
  const server = createServer((req, res) => {
    if (req.url !== "/.well-known/oauth-protected-resource/mcp") return void res.writeHead(404).end();
    const resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const metadata = { resource, authorization_servers: [issuer()], scopes_supported: ["devhatchery"] };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(metadata));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
