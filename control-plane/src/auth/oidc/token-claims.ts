import { createHash } from "node:crypto";
import { PRINCIPAL_PATTERN } from "../../config/config-schema.js";

/** A claim by dotted path ("realm_access.roles"), or undefined. */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A list claim given as an array of strings or one space-separated string (scope, scp, groups). */
export function stringList(value: unknown): string[] {
  if (typeof value === "string") return value.split(" ").filter(Boolean);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return [];
}

/** The token's scopes: RFC 9068's `scope` string, or Entra's `scp`. */
export function scopesOf(claims: Record<string, unknown>): string[] {
  return [...new Set([...stringList(claims.scope), ...stringList(claims.scp)])];
}

/**
 * A principal id from a claim value. Values that are valid principal names are used as they are; others (Auth0's
 * "auth0|123", long or non-ASCII values) keep a readable prefix and get a hash suffix, so two values never share an id.
 */
export function principalIdOf(value: string): string {
  if (PRINCIPAL_PATTERN.test(value)) return value;
  const readable = value
    .replace(/[^a-zA-Z0-9._@-]/g, "_")
    .replace(/^[^a-zA-Z0-9]+/, "")
    .slice(0, 46);
  const hash = createHash("sha256").update(value, "utf8").digest("hex").slice(0, 16);
  return readable ? `${readable}-${hash}` : `oidc-${hash}`;
}
