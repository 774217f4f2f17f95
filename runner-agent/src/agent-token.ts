import { createHash, timingSafeEqual } from "node:crypto";
import { AGENT_TOKEN_MIN_LENGTH } from "@devhatchery/proto/contract";
import { tokenFingerprint } from "@devhatchery/proto/token-fingerprint";
import { AgentError } from "./errors.js";

const BEARER = "Bearer ";
/** Visible ASCII only: gRPC metadata and HTTP headers carry nothing else, so another token could never be presented. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]*$/;

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * The runner token the agent accepts, shared by the gRPC token guard and the debug endpoint. It holds only the
 * token's digest; `rotate` swaps it in one synchronous step, so from then on the old token opens nothing anywhere.
 */
export class AgentToken {
  #digest: Buffer;
  #fingerprint: string;

  constructor(token: string) {
    this.#digest = digest(token);
    this.#fingerprint = tokenFingerprint(token);
  }

  /** The current token's fingerprint (proto/src/token-fingerprint.ts); safe to log. */
  get fingerprint(): string {
    return this.#fingerprint;
  }

  /** Whether `header` is `Bearer <current token>`, compared in constant time (on digests, so any length). */
  matches(header: unknown): boolean {
    if (typeof header !== "string" || !header.startsWith(BEARER)) return false;
    return timingSafeEqual(digest(header.slice(BEARER.length)), this.#digest);
  }

  /**
   * Replaces the token with `newToken` when `presented` (the rotating call's authorization header) still matches the
   * current one, so of two rotations authenticated with the same token only the first takes effect. Returns the new
   * token's fingerprint; throws INVALID_ARGUMENT for a token that is too short or unsendable, UNAUTHENTICATED when
   * the presented token was rotated away meanwhile.
   */
  rotate(newToken: string, presented: unknown): string {
    if (newToken.length < AGENT_TOKEN_MIN_LENGTH)
      throw new AgentError(
        "INVALID_ARGUMENT",
        `The new runner token is ${newToken.length} characters long; a token needs at least ${AGENT_TOKEN_MIN_LENGTH}. ` +
          "The current token stays in force; send a longer one (e.g. 32 random bytes as 64 hex characters).",
      );
    if (!TOKEN_CHARACTERS.test(newToken))
      throw new AgentError(
        "INVALID_ARGUMENT",
        "The new runner token contains characters other than visible ASCII (spaces, control or non-ASCII characters), " +
          "which no authorization header can carry. The current token stays in force; send hex or base64url.",
      );
    if (!this.matches(presented))
      throw new AgentError(
        "UNAUTHENTICATED",
        "The runner token this call was authenticated with has been rotated meanwhile; call again with the current one.",
      );
    this.#digest = digest(newToken);
    this.#fingerprint = tokenFingerprint(newToken);
    return this.#fingerprint;
  }
}
