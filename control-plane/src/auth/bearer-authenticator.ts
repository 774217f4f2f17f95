import { createHash, timingSafeEqual } from "node:crypto";
import type { BearerTokenEntry } from "../config.js";
import type { CredentialCheck, Identity } from "./authenticator.js";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Bearer auth with several tokens, each mapped to a principal. Only token digests are known (the configuration
 * hashes plain tokens), and every candidate is compared in constant time so timing reveals neither which token
 * matched nor how much. A token it does not know is left to the next check (OIDC in mixed mode).
 */
export function createBearerCheck(entries: readonly BearerTokenEntry[]): CredentialCheck {
  const known = entries.map(({ principal, tokenSha256, groups }) => ({
    identity: { id: principal, groups: groups ?? [], method: "bearer" } satisfies Identity,
    digest: Buffer.from(tokenSha256, "hex"),
  }));
  return async (token) => {
    const presented = digest(token);
    let found: Identity | undefined;
    for (const entry of known) {
      if (timingSafeEqual(presented, entry.digest)) found ??= entry.identity;
    }
    return found;
  };
}
