import { createHash, timingSafeEqual } from "node:crypto";
import type { BearerTokenEntry } from "../config.js";
import type { Principal } from "./principal.js";

/** Maps an Authorization header to a principal, or undefined when it carries no valid token. */
export type Authenticator = (authorization: string | undefined) => Principal | undefined;

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Bearer auth with several tokens, each mapped to a principal. Only token digests are known (the configuration
 * hashes plain tokens), and every candidate is compared in constant time so timing reveals neither which token
 * matched nor how much.
 */
export function createBearerAuthenticator(entries: BearerTokenEntry[]): Authenticator {
  const known = entries.map(({ principal, tokenSha256 }) => ({
    principal: { id: principal },
    digest: Buffer.from(tokenSha256, "hex"),
  }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return undefined;
    const presented = digest(match[1]!);
    let found: Principal | undefined;
    for (const entry of known) {
      if (timingSafeEqual(presented, entry.digest)) found ??= entry.principal;
    }
    return found;
  };
}
