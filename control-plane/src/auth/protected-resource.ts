import type { OidcConfig } from "../config.js";

/** This server as an OAuth 2.1 protected resource: its RFC 9728 metadata and where it is published. */
export interface ProtectedResource {
  /** The path-suffixed well-known path of the resource (e.g. /.well-known/oauth-protected-resource/mcp). */
  metadataPath: string;
  /** The absolute URL of that document, named in every WWW-Authenticate challenge. */
  metadataUrl: string;
  /** The scopes clients should ask for (space-separated), or "" when none are required. */
  scope: string;
  document: {
    resource: string;
    authorization_servers: string[];
    scopes_supported: string[];
    bearer_methods_supported: string[];
    resource_name: string;
    resource_documentation: string;
  };
}

/** The well-known path of RFC 9728 for this root and for the resource's own path. */
export const METADATA_ROOT = "/.well-known/oauth-protected-resource";

export function protectedResourceOf(oidc: OidcConfig): ProtectedResource {
  const resource = new URL(oidc.resource);
  const path = resource.pathname === "/" ? "" : resource.pathname.replace(/\/$/, "");
  const metadataPath = `${METADATA_ROOT}${path}`;
  return {
    metadataPath,
    metadataUrl: `${resource.origin}${metadataPath}`,
    scope: oidc.advertisedScopes.join(" "),
    document: {
      resource: oidc.resource,
      authorization_servers: [oidc.issuer],
      scopes_supported: oidc.advertisedScopes,
      bearer_methods_supported: ["header"],
      resource_name: "DevHatchery",
      resource_documentation: "https://github.com/devhatchery/devhatchery/blob/main/docs/auth.md",
    },
  };
}
