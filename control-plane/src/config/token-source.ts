import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { BEARER_TOKEN_MIN_LENGTH } from "./config-schema.js";

/** A token entry of auth.tokens as written: exactly one of the three sources is expected. */
export interface TokenSource {
  token?: string | undefined;
  token_file?: string | undefined;
  token_sha256?: string | undefined;
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** The token's SHA-256 (hex, lower case), or why it cannot be had and which key is at fault. */
export function tokenDigest(
  source: TokenSource,
): { sha256: string } | { key: keyof TokenSource | undefined; problem: string } {
  const given = (["token", "token_file", "token_sha256"] as const).filter((name) => source[name] !== undefined);
  if (given.length !== 1) {
    return {
      key: undefined,
      problem: `needs exactly one of token, token_file or token_sha256, got ${given.length === 0 ? "none" : given.join(" and ")}`,
    };
  }
  if (source.token_sha256 !== undefined) return { sha256: source.token_sha256.toLowerCase() };
  if (source.token !== undefined) return { sha256: sha256Hex(source.token) };
  let content: string;
  try {
    content = readFileSync(source.token_file!, "utf8").trim();
  } catch (error) {
    return {
      key: "token_file",
      problem: `cannot be read (${(error as NodeJS.ErrnoException).code}); create the file or fix the path`,
    };
  }
  if (content.length < BEARER_TOKEN_MIN_LENGTH) {
    return {
      key: "token_file",
      problem: `holds ${content.length} characters; a token needs at least ${BEARER_TOKEN_MIN_LENGTH}: generate one with \`openssl rand -hex 32\``,
    };
  }
  return { sha256: sha256Hex(content) };
}
