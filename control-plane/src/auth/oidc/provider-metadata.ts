/** What the control plane needs of an authorization server's metadata (OIDC discovery or RFC 8414). */
export interface ProviderMetadata {
  issuer: string;
  jwks_uri: string;
  introspection_endpoint?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
}

/** The provider could not be asked (down, slow, or answering nonsense): a 503, never "your token is bad". */
export class ProviderUnavailableError extends Error {
  override readonly name = "ProviderUnavailableError";
}

/** The two well-known places metadata may live: OIDC discovery first, then RFC 8414 (path inserted after the host). */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, "");
  return [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

/**
 * Finds the issuer's metadata and checks it: the document must name exactly the configured issuer (a provider may
 * not speak for another) and a jwks_uri. Throws ProviderUnavailableError saying what was tried.
 */
export async function discoverProvider(issuer: string, timeoutMs: number): Promise<ProviderMetadata> {
  const problems: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      document = await fetchJson(url, timeoutMs);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    const metadata = document as Partial<ProviderMetadata> | null;
    if (typeof metadata?.issuer !== "string" || metadata.issuer !== issuer) {
      throw new ProviderUnavailableError(
        `${url} names issuer ${JSON.stringify(metadata?.issuer)}, not the configured "${issuer}"; set auth.oidc.issuer to exactly the provider's issuer`,
      );
    }
    if (typeof metadata.jwks_uri !== "string")
      throw new ProviderUnavailableError(`${url} has no jwks_uri; the provider must publish its signing keys`);
    return metadata as ProviderMetadata;
  }
  throw new ProviderUnavailableError(`no metadata for issuer "${issuer}": ${problems.join("; ")}`);
}

/** Metadata fetched once and kept; a failure is kept for `retryMs` (so an outage is not a request storm), then retried. */
export class ProviderConnection {
  private pending: Promise<ProviderMetadata> | undefined;
  private failedAt = 0;

  constructor(
    private readonly issuer: string,
    private readonly timeoutMs: number,
    private readonly retryMs = 5000,
  ) {}

  metadata(): Promise<ProviderMetadata> {
    if (this.pending && this.failedAt > 0 && Date.now() - this.failedAt >= this.retryMs) this.pending = undefined;
    this.pending ??= discoverProvider(this.issuer, this.timeoutMs).then(
      (metadata) => {
        this.failedAt = 0;
        return metadata;
      },
      (error: unknown) => {
        this.failedAt = Date.now();
        throw error instanceof ProviderUnavailableError ? error : new ProviderUnavailableError(String(error));
      },
    );
    return this.pending;
  }
}
