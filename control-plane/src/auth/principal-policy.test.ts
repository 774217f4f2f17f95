import { describe, expect, it } from "vitest";
import { policyConfig } from "../../test/policy-config.js";
import { describePolicy, PolicyResolver } from "./principal-policy.js";

const policy = policyConfig;

const policies = [
  policy("readers", { groups: ["auditors"], tools: ["read"] }),
  policy("ci", { principals: ["bot"], tools: ["read", "exec", "fs_write"], maxRunners: 3 }),
  policy("devs", { groups: ["dev", "auditors"], mounts: [{ alias: "data", mode: "ro" }], network: false }),
];

describe("PolicyResolver", () => {
  it("gives the first policy that names the principal or one of its groups", () => {
    const resolver = new PolicyResolver(policies, "deny");
    expect(resolver.resolve("alice", ["dev", "auditors"])).toMatchObject({
      policy: { name: "readers" },
      matched: { by: "group", value: "auditors" },
    });
    expect(resolver.resolve("bot", ["dev"])).toMatchObject({
      policy: { name: "ci" },
      matched: { by: "principal", value: "bot" },
    });
    expect(resolver.resolve("carol", ["dev"]).policy.name).toBe("devs");
  });

  it("falls back to the default: a named policy, unrestricted or deny", () => {
    expect(new PolicyResolver(policies, "deny").resolve("mallory", ["x"])).toMatchObject({
      policy: { name: "deny", denyAll: true },
      matched: { by: "default" },
    });
    expect(new PolicyResolver(policies, "unrestricted").resolve("mallory").policy).toEqual({
      name: "unrestricted",
      denyAll: false,
    });
    expect(new PolicyResolver(policies, "readers").resolve("mallory").policy.name).toBe("readers");
  });

  it("expands tool sets and names, and leaves tools open for all", () => {
    const resolver = new PolicyResolver(policies, "unrestricted");
    expect([...resolver.resolve("x", ["auditors"]).policy.tools!]).toContain("fs_read");
    expect(resolver.resolve("x", ["auditors"]).policy.tools!.has("exec")).toBe(false);
    expect([...resolver.resolve("bot").policy.tools!]).toEqual(
      expect.arrayContaining(["exec", "fs_write", "exec_signal"]),
    );
    expect(resolver.resolve("bot").policy.tools!.has("fs_remove")).toBe(false);
    expect(resolver.resolve("carol", ["dev"]).policy.tools).toBeUndefined();
  });

  it("describes a policy's rules in words", () => {
    const resolver = new PolicyResolver(policies, "deny");
    expect(describePolicy(resolver.resolve("carol", ["dev"]).policy)).toEqual([
      "mounts data:ro",
      "network off",
      "tools all",
    ]);
    expect(describePolicy(resolver.resolve("bot").policy)).toEqual([
      "runners ≤ 3",
      "tools runner_list, volume_list, snapshot_list, exec_list, exec_read, fs_read, fs_list, fs_stat, fs_watch, fs_changes, fs_unwatch, export_list, system_status, job_list, job_get, exec, exec_write, exec_signal, exec_resize, fs_write",
    ]);
  });
});
