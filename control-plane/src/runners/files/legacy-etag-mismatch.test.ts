import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors.js";
import { withLegacyEtagMismatch } from "./legacy-etag-mismatch.js";

const failing = (code: "FAILED_PRECONDITION" | "ETAG_MISMATCH", message: string) => async (): Promise<never> => {
  throw new ControlPlaneError(code, message);
};

// Texts exactly as agents before ABORTED sent them with FAILED_PRECONDITION.
const CHANGED =
  'Cannot write "/work/a.txt": if_match expected etag "1-2-3-4" but the current etag is "1-2-3-5"; the file changed since you read it. ' +
  "Read it again for its current content and etag, reapply your change, and retry with the new etag.";
const GONE =
  'Cannot read "/work/a.txt": if_match expected etag "1-2-3-4" but the file no longer exists (current etag: none); ' +
  "it was removed or moved since you read it. Check where it went (stat or list), or write without if_match to create it.";

describe("an older agent's etag mismatch", () => {
  it.each([CHANGED, GONE])("becomes ETAG_MISMATCH with the agent's message: %s", async (message) => {
    await expect(withLegacyEtagMismatch("1-2-3-4", failing("FAILED_PRECONDITION", message))).rejects.toMatchObject({
      code: "ETAG_MISMATCH",
      message,
    });
  });

  it("keeps other failed preconditions, and those of calls without if_match or about another etag", async () => {
    const directory = 'Cannot write "/work/adir": it is a directory; write to a path inside it, or remove it first.';
    await expect(withLegacyEtagMismatch("1-2-3-4", failing("FAILED_PRECONDITION", directory))).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: directory,
    });
    await expect(withLegacyEtagMismatch("", failing("FAILED_PRECONDITION", CHANGED))).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
    });
    await expect(withLegacyEtagMismatch("9-9-9-9", failing("FAILED_PRECONDITION", CHANGED))).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
    });
  });

  it("passes the current agent's ETAG_MISMATCH (from ABORTED) and results through unchanged", async () => {
    await expect(withLegacyEtagMismatch("1-2-3-4", failing("ETAG_MISMATCH", CHANGED))).rejects.toMatchObject({
      code: "ETAG_MISMATCH",
      message: CHANGED,
    });
    expect(await withLegacyEtagMismatch("1-2-3-4", async () => "written")).toBe("written");
  });
});
