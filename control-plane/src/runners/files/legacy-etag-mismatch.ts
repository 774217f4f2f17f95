import { ControlPlaneError } from "../../errors.js";

/**
 * Runs an agent call made with `ifMatch` and recognizes an etag mismatch from an agent older than the ABORTED status
 * (docs/adr/0013-agent-contract-checks.md): such an agent sent it as FAILED_PRECONDITION with a fixed text naming the
 * expected etag, so the text tells it apart from other failed preconditions without a second call. The current
 * agent's ABORTED is already ETAG_MISMATCH. Remove once no runner can carry an agent from before that change.
 */
export async function withLegacyEtagMismatch<T>(ifMatch: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (
      ifMatch &&
      error instanceof ControlPlaneError &&
      error.code === "FAILED_PRECONDITION" &&
      isLegacyEtagMismatch(error.message, ifMatch)
    ) {
      throw new ControlPlaneError("ETAG_MISMATCH", error.message, { cause: error });
    }
    throw error;
  }
}

/** The older agent's wording: `Cannot write "/work/a": if_match expected etag "<ifMatch>" but …`. */
function isLegacyEtagMismatch(message: string, ifMatch: string): boolean {
  return /^Cannot (?:read|write) "/.test(message) && message.includes(`": if_match expected etag "${ifMatch}" but `);
}
