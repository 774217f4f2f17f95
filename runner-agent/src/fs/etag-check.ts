import type { BigIntStats } from "node:fs";
import { AgentError } from "../errors.js";
import { etagOf } from "./file-entry.js";

/**
 * Fails with ABORTED (a failed test-and-set, told apart from a wrong file type without a second call) unless
 * `current` (undefined = missing) has the etag `expected`; an empty `expected` means unconditional. `what` is the
 * verb of the message: "write", "read".
 */
export function assertEtagMatches(
  what: string,
  path: string,
  expected: string,
  current: BigIntStats | undefined,
): void {
  if (!expected) return;
  if (!current) {
    throw new AgentError(
      "ABORTED",
      `Cannot ${what} "${path}": if_match expected etag "${expected}" but the file no longer exists (current etag: none); ` +
        "it was removed or moved since you read it. Check where it went (stat or list), or write without if_match to create it.",
    );
  }
  const actual = etagOf(current);
  if (actual !== expected) {
    throw new AgentError(
      "ABORTED",
      `Cannot ${what} "${path}": if_match expected etag "${expected}" but the current etag is "${actual}"; the file changed since you read it. ` +
        "Read it again for its current content and etag, reapply your change, and retry with the new etag.",
    );
  }
}
