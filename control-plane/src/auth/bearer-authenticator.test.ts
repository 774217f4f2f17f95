import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createBearerCheck } from "./bearer-authenticator.js";

const sha256 = (token: string): string => createHash("sha256").update(token).digest("hex");
const check = createBearerCheck([
  { principal: "alice", tokenSha256: sha256("alice-token-0123456789"), groups: ["dev"] },
  { principal: "bob", tokenSha256: sha256("bob-token-0123456789") },
]);

describe("bearer check", () => {
  it("maps each token to its principal and groups", async () => {
    expect(await check("alice-token-0123456789")).toEqual({ id: "alice", groups: ["dev"], method: "bearer" });
    expect(await check("bob-token-0123456789")).toEqual({ id: "bob", groups: [], method: "bearer" });
  });

  it.each([
    ["empty", ""],
    ["a prefix of a token", "alice-token-012345678"],
    ["a token with extra bytes", "alice-token-0123456789x"],
    ["another principal's name", "alice"],
  ])("does not know %s", async (_case, token) => {
    expect(await check(token)).toBeUndefined();
  });
});
