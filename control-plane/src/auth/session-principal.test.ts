import { describe, expect, it } from "vitest";
import { DENY_POLICY, UNRESTRICTED_POLICY } from "./principal-policy.js";
import { SessionPrincipal } from "./session-principal.js";

describe("SessionPrincipal", () => {
  it("follows the groups and policy of the latest request's principal, never another principal's", () => {
    const caller = new SessionPrincipal({ id: "alice", groups: ["dev"], policy: UNRESTRICTED_POLICY });
    caller.update({
      id: "alice",
      groups: [],
      policy: { name: "readers", denyAll: false, tools: new Set(["fs_read"]) },
    });
    expect(caller.id).toBe("alice");
    expect(caller.groups).toEqual([]);
    expect(caller.policy?.name).toBe("readers");
    caller.update({ id: "mallory", groups: ["admins"], policy: DENY_POLICY });
    expect([caller.id, caller.policy?.name]).toEqual(["alice", "readers"]);
  });
});
