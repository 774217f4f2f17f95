import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { exportJWK, generateKeyPair, type JWK } from "jose";
// @ts-expect-error -- oidc-provider ships no types and @types/oidc-provider is not installed; OidcProvider types our use.
import { Provider, errors } from "oidc-provider";
// @ts-expect-error -- same package; its per-instance memory store, which (unlike the default) logs no warning.
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";

/** A person who can log in at the test provider; the optional claims go into their access tokens. */
export interface TestAccount {
  sub: string;
  groups?: string[];
  email?: string;
  preferred_username?: string;
}

export interface StartOptions {
  /** Resource indicators (RFC 8707) the provider issues JWT access tokens for; the first is the default resource. */
  resources: string[];
  /** Resource indicators for which access tokens are OPAQUE (for RFC 7662 introspection tests). */
  opaqueResources?: string[];
  /** Scope of the resource server (space-separated), default "devhatchery". */
  scope?: string;
  /** Machine clients (client_credentials): id → groups put into their tokens' `groups` claim. */
  machineClients?: Record<string, { groups?: string[] }>;
  /** Access token lifetime in seconds, default 300. */
  accessTokenTtlS?: number;
}

/** A real OpenID Provider (oidc-provider 9) on a loopback port; close it, or hold it with `await using`. */
export interface TestOpenIdProvider extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  issuer: string;
  jwksUri: string;
  /** client_credentials grant for a machine client; resource defaults to the first resource. Returns the access token. */
  clientCredentialsToken(clientId: string, options?: { resource?: string; scope?: string }): Promise<string>;
  /** Secret of a machine client (client_secret_basic); with it the client may also introspect any token. */
  clientSecret(clientId: string): string;
  /** Registers a person; their access tokens carry `groups`, `email`, `preferred_username` claims. */
  addAccount(account: TestAccount): void;
  /**
   * Plays the browser on an authorization URL (as the MCP SDK built it): logs in as `sub`, consents to every scope and
   * resource asked for, and returns the redirect to the client (`?code=&state=`, or `?error=` if the provider refused).
   */
  authorize(authorizationUrl: URL | string, sub: string): Promise<URL>;
  /** Replaces the signing key: later tokens carry a new `kid`; the JWKS lists only it (or it and the old ones with `keepOld`). */
  rotateKeys(options?: { keepOld?: boolean }): Promise<void>;
  /** The current private signing key (RS256, with kid), for minting hostile tokens with jose. */
  signingKey(): JWK;
  /** How many requests reached a path, e.g. "/jwks" or "/.well-known/openid-configuration". */
  requestCount(pathname: string): number;
  close(): Promise<void>;
}

/** The part of oidc-provider's Provider this fixture uses. */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: object, options: object): Promise<void>;
  Grant: { new (owner: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant> };
}
interface Interaction {
  prompt: { name: string; details: Partial<Record<"missingOIDCScope" | "missingOIDCClaims", string[]>> & Missing };
  params: { client_id: string };
  session?: { accountId: string };
  grantId?: string;
}
type Missing = { missingResourceScopes?: Record<string, string[]> };
interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}
type Token = { kind: string; accountId?: string; clientId: string };
type Client = { clientId: string; clientAuthMethod: string; grantTypeAllowed(type: string): boolean };

const LOGIN_HEADER = "x-test-login-as";
/** Every lifetime is explicit: oidc-provider logs "you SHOULD change it" for each default one used. */
const FIXED_TTLS_S = {
  AuthorizationCode: 60,
  IdToken: 300,
  RefreshToken: 3600,
  Interaction: 300,
  Session: 3600,
  Grant: 3600,
};

/** Starts a provider on 127.0.0.1 (ephemeral port): PKCE S256 required, open RFC 7591 registration, JWT access tokens. */
export async function startTestOpenIdProvider(options: StartOptions): Promise<TestOpenIdProvider> {
  const { resources, opaqueResources = [], scope = "devhatchery", machineClients = {} } = options;
  const ttlS = options.accessTokenTtlS ?? 300;
  const accounts = new Map<string, TestAccount>();
  const secrets = new Map(Object.keys(machineClients).map((id) => [id, randomBytes(24).toString("base64url")]));
  const counts = new Map<string, number>();
  const shared = { adapter: createMemoryAdapter(), cookies: { keys: [randomBytes(32).toString("base64url")] } };
  let keys = [await createSigningKey()];
  let provider: OidcProvider | undefined;
  let listener: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://127.0.0.1");
    counts.set(pathname, (counts.get(pathname) ?? 0) + 1);
    if (!pathname.startsWith("/interaction/")) return listener!(req, res);
    finishInteraction(provider!, req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(`Test interaction failed: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const getResourceServerInfo = (_ctx: unknown, resource: string) => {
    const format = resources.includes(resource) ? "jwt" : opaqueResources.includes(resource) ? "opaque" : undefined;
    if (!format) throw new errors.InvalidTarget(`resource "${resource}" is not one of this test provider's resources`);
    return { scope, accessTokenTTL: ttlS, accessTokenFormat: format, jwt: { sign: { alg: "RS256" } } };
  };
  const extraTokenClaims = (_ctx: unknown, token: Token) => {
    if (token.kind === "ClientCredentials") return { groups: machineClients[token.clientId]?.groups };
    const account = accounts.get(token.accountId ?? "");
    return account && { groups: account.groups, email: account.email, preferred_username: account.preferred_username };
  };

  // Rebuilt on key rotation (oidc-provider reads `jwks` once); the shared adapter and cookie keys keep its state.
  function buildProvider(): OidcProvider {
    const built: OidcProvider = new Provider(issuer, {
      ...shared,
      jwks: { keys },
      // Static scopes as well: registration rejects a `scope` (the MCP SDK sends one) naming any other value.
      scopes: ["openid", "offline_access", ...scope.split(" ")],
      clients: [...secrets].map(([client_id, client_secret]) => ({
        client_id,
        client_secret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
      })),
      pkce: { required: () => true },
      ttl: { ...FIXED_TTLS_S, AccessToken: ttlS, ClientCredentials: ttlS },
      clientBasedCORS: () => true,
      findAccount: (_ctx: unknown, sub: string) =>
        accounts.has(sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined,
      extraTokenClaims,
      issueRefreshToken: (_ctx: unknown, client: Client) => client.grantTypeAllowed("refresh_token"),
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      renderError: (ctx: { type: string; body: unknown }, out: object) =>
        Object.assign(ctx, { type: "json", body: out }),
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        registration: { enabled: true },
        introspection: {
          enabled: true,
          // oidc-provider's default rule, stated to silence its warning: public clients introspect only their own tokens.
          allowedPolicy: (_ctx: unknown, client: Client, token: Token) =>
            client.clientAuthMethod !== "none" || token.clientId === client.clientId,
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf ?? resources[0],
          useGrantedResource: () => true,
          getResourceServerInfo,
        },
      },
    });
    listener = built.callback();
    return built;
  }
  provider = buildProvider();

  const clientSecret = (clientId: string): string => {
    const secret = secrets.get(clientId);
    if (secret !== undefined) return secret;
    throw new Error(`Machine client "${clientId}" is not configured; add it to StartOptions.machineClients.`);
  };
  const close = async (): Promise<void> => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  };
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    async clientCredentialsToken(clientId, { resource, scope: asked = scope } = {}) {
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        scope: asked,
        ...(resource ? { resource } : {}),
      });
      const authorization = `Basic ${btoa(`${clientId}:${clientSecret(clientId)}`)}`;
      const response = await fetch(`${issuer}/token`, { method: "POST", headers: { authorization }, body });
      const json = (await response.json()) as { access_token?: string };
      if (!json.access_token) throw new Error(`Token request for "${clientId}" failed: ${JSON.stringify(json)}`);
      return json.access_token;
    },
    clientSecret,
    addAccount: (account) => void accounts.set(account.sub, account),
    async authorize(authorizationUrl, sub) {
      if (!accounts.has(sub)) {
        throw new Error(`Account "${sub}" is not registered; call addAccount({ sub: "${sub}" }).`);
      }
      return followAsBrowser(new URL(authorizationUrl), issuer, { [LOGIN_HEADER]: sub });
    },
    async rotateKeys({ keepOld = false } = {}) {
      keys = [await createSigningKey(), ...(keepOld ? keys : [])];
      provider = buildProvider();
    },
    signingKey: () => keys[0]!,
    requestCount: (pathname) => counts.get(pathname) ?? 0,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function createSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: "RS256", use: "sig" };
}

/** The login page logs in the account the test's "browser" names; the consent page grants everything still missing. */
async function finishInteraction(provider: OidcProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const interaction = await provider.interactionDetails(req, res);
  const { name, details } = interaction.prompt;
  if (name === "login") {
    const login = { accountId: String(req.headers[LOGIN_HEADER]) };
    return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
  }
  const owner = { accountId: interaction.session!.accountId, clientId: interaction.params.client_id };
  const grant = interaction.grantId ? await provider.Grant.find(interaction.grantId) : new provider.Grant(owner);
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(" "));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(" "));
  }
  const consent = { grantId: await grant.save() };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

/** Follows redirects with a cookie jar until one leaves the issuer's origin: that one goes to the client's redirect_uri. */
async function followAsBrowser(start: URL, issuer: string, headers: Record<string, string>): Promise<URL> {
  const jar = new Map<string, { value: string; path: string }>();
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    const cookie = [...jar].filter(([, c]) => url.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
    const response = await fetch(url, { redirect: "manual", headers: { ...headers, cookie: cookie.join("; ") } });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const [name = "", value = ""] = pair.split(/=(.*)/s);
      const path = attributes.find((a) => a.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
      if (value && !/expires=Thu, 01 Jan 1970/i.test(line)) jar.set(name, { value, path });
      else jar.delete(name);
    }
    const location = response.headers.get("location");
    if (!location || response.status < 300 || response.status >= 400) {
      throw new Error(`Authorization stopped at "${url}" with HTTP ${response.status}: ${await response.text()}`);
    }
    await response.body?.cancel();
    url = new URL(location, url);
    if (url.origin !== issuer) return url;
  }
  throw new Error(`Authorization at "${start}" did not reach the client's redirect_uri within 10 redirects.`);
}

/** An MCP SDK OAuth client kept in memory: public (PKCE), registers itself dynamically, keeps what the SDK hands it. */
export class InMemoryOAuthClientProvider implements OAuthClientProvider {
  /** The last authorization URL the SDK sent the "browser" to; pass it to TestOpenIdProvider.authorize. */
  authorizationUrl: URL | undefined;
  private information: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier: string | undefined;

  readonly redirectUrl: string;
  private readonly metadata: Partial<OAuthClientMetadata>;

  /** `metadata` overrides the registration defaults (public client, code + refresh_token grants). */
  constructor(redirectUrl: string, metadata: Partial<OAuthClientMetadata> = {}) {
    this.redirectUrl = redirectUrl;
    this.metadata = metadata;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "devhatchery test client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      ...this.metadata,
    };
  }
  clientInformation = () => this.information;
  saveClientInformation = (information: OAuthClientInformationMixed) => void (this.information = information);
  tokens = () => this.saved;
  saveTokens = (tokens: OAuthTokens) => void (this.saved = tokens);
  redirectToAuthorization = (url: URL) => void (this.authorizationUrl = url);
  saveCodeVerifier = (verifier: string) => void (this.verifier = verifier);
  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error("No PKCE code verifier saved; run auth() to its REDIRECT first.");
    return this.verifier;
  }
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "client") this.information = undefined;
    if (scope === "all" || scope === "tokens") this.saved = undefined;
    if (scope === "all" || scope === "verifier") this.verifier = undefined;
  }
}
