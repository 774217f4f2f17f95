import { createHash } from "node:crypto";

/** Hex characters of a token fingerprint: 64 bits of SHA-256, enough to tell tokens apart, useless to guess one. */
export const TOKEN_FINGERPRINT_HEX_CHARS = 16;

/**
 * A runner token's fingerprint, as TokenService.Rotate answers it and as logs may show it: the first 16 lowercase hex
 * characters of the SHA-256 of the token's UTF-8 bytes. The agent and the control plane compute it the same way.
 */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex").slice(0, TOKEN_FINGERPRINT_HEX_CHARS);
}
