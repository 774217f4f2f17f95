import { describe, expect, it } from "vitest";
import { PolicyResolver } from "../../auth/principal-policy.js";
import { policyConfig } from "../../../test/policy-config.js";
import type { SpawnRequest } from "../runner.js";
import { applyCallerPolicy } from "./caller-policy.js";
import { validateSpawnRequest } from "./spawn-request.js";

const SERVER = {
  defaultImage: "ubuntu:24.04",
  limits: {
    defaults: { cpus: 2, memoryMb: 2048, pids: 4096 },
    max: { cpus: 4, memoryMb: 8192, pids: 16384 },
    maxRunnersPerPrincipal: 50,
    tmpfsMb: 1024,
  },
  profile: "default" as const,
};

const devs = policyConfig("devs", {
  groups: ["dev"],
  maxCpus: 1,
  maxMemoryMb: 512,
  maxPids: 256,
  mounts: [
    { alias: "data", mode: "ro" },
    { alias: "out", mode: undefined },
  ],
  network: false,
});
const policy = new PolicyResolver([devs], "unrestricted").resolve("x", ["dev"]).policy;

function spawnAs(request: SpawnRequest) {
  return applyCallerPolicy(validateSpawnRequest(request, SERVER), request, policy);
}

describe("applyCallerPolicy", () => {
  it("lowers what the caller left to the defaults to the policy's limits, and turns the network off", () => {
    expect(spawnAs({})).toMatchObject({ limits: { cpus: 1, memoryMb: 512, pids: 256 }, network: false });
    expect(spawnAs({ cpus: 0.5, memoryMb: 256, network: false })).toMatchObject({
      limits: { cpus: 0.5, memoryMb: 256, pids: 256 },
    });
  });

  it.each<[string, SpawnRequest, string]>([
    ["more cpus", { cpus: 2 }, 'policy "devs" (rule max_cpus) allows at most 1 cpus, not 2; ask for 1 or less.'],
    [
      "more memory",
      { memoryMb: 1024 },
      'policy "devs" (rule max_memory_mb) allows at most 512 memory_mb, not 1024; ask for 512 or less.',
    ],
    [
      "network",
      { network: true },
      'policy "devs" (rule network) gives runners no network; omit network or pass network: false.',
    ],
    [
      "an alias it does not grant",
      { mounts: [{ alias: "secret" }] },
      'policy "devs" (rule mounts) does not allow mounting "secret"; it allows "data", "out".',
    ],
    [
      "rw where it grants ro",
      { mounts: [{ alias: "data", mode: "rw" }] },
      'policy "devs" (rule mounts) allows "data" read-only; ask for mode "ro".',
    ],
  ])("refuses %s with POLICY_DENIED naming the policy and the rule", (_case, request, message) => {
    expect(() => spawnAs(request)).toThrow(expect.objectContaining({ code: "POLICY_DENIED", policy: "devs", message }));
  });

  it("lets a granted mount through in the mode the root allows", () => {
    expect(spawnAs({ mounts: [{ alias: "out", mode: "rw" }, { alias: "data" }] }).mounts).toHaveLength(2);
  });

  it("changes nothing without a policy", () => {
    const request = { cpus: 3, network: true };
    expect(applyCallerPolicy(validateSpawnRequest(request, SERVER), request, undefined)).toEqual(
      validateSpawnRequest(request, SERVER),
    );
  });
});
