import { describe, expect, it } from "vitest";
import { claimAt, principalIdOf, scopesOf, stringList } from "./token-claims.js";

describe("token claims", () => {
  it("reads claims by dotted path (Keycloak's realm_access.roles)", () => {
    const claims = { realm_access: { roles: ["dev", "ops"] }, email: "a@b.c" };
    expect(claimAt(claims, "realm_access.roles")).toEqual(["dev", "ops"]);
    expect(claimAt(claims, "email")).toBe("a@b.c");
    expect(claimAt(claims, "realm_access.missing")).toBeUndefined();
    expect(claimAt(claims, "email.length")).toBeUndefined();
  });

  it("takes lists as arrays or space-separated strings, and scopes from scope and Entra's scp", () => {
    expect(stringList("a b  c")).toEqual(["a", "b", "c"]);
    expect(stringList(["a", 3, "b"])).toEqual(["a", "b"]);
    expect(stringList({ a: 1 })).toEqual([]);
    expect(scopesOf({ scope: "openid devhatchery", scp: "devhatchery files.read" })).toEqual([
      "openid",
      "devhatchery",
      "files.read",
    ]);
  });

  it("keeps valid principal names and gives others a readable prefix and a hash, never the same id for two values", () => {
    expect(principalIdOf("alice@example.com")).toBe("alice@example.com");
    const auth0 = principalIdOf("auth0|5f1c2b");
    expect(auth0).toMatch(/^auth0_5f1c2b-[0-9a-f]{16}$/);
    expect(principalIdOf("auth0_5f1c2b")).toBe("auth0_5f1c2b");
    expect(principalIdOf("auth0!5f1c2b")).not.toBe(auth0);
    expect(principalIdOf("Ünïcödé")).toMatch(/^n_c_d_-[0-9a-f]{16}$/);
    expect(principalIdOf("||||")).toMatch(/^oidc-[0-9a-f]{16}$/);
    expect(principalIdOf("x".repeat(200))).toHaveLength(46 + 17);
  });
});
