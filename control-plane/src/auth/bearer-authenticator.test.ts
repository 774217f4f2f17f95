import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createBearerAuthenticator } from "./bearer-authenticator.js";

const sha256 = (token: string): string => createHash("sha256").update(token).digest("hex");
const authenticate = createBearerAuthenticator([
  { principal: "alice", tokenSha256: sha256("alice-token-0123456789") },
  { principal: "bob", tokenSha256: sha256("bob-token-0123456789") },
]);

describe("bearer authenticator", () => {
  it("maps each token to its principal", () => {
    expect(authenticate("Bearer alice-token-0123456789")).toEqual({ id: "alice" });
    expect(authenticate("bearer bob-token-0123456789")).toEqual({ id: "bob" });
  });

  it.each([
    ["no header", undefined],
    ["empty", ""],
    ["another scheme", "Basic alice-token-0123456789"],
    ["no scheme", "alice-token-0123456789"],
    ["a prefix of a token", "Bearer alice-token-012345678"],
    ["a token with extra bytes", "Bearer alice-token-0123456789x"],
    ["two tokens", "Bearer alice-token-0123456789 bob-token-0123456789"],
  ])("rejects %s", (_case, header) => {
    expect(authenticate(header)).toBeUndefined();
  });
});
