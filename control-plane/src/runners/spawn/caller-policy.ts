import { PolicyDeniedError } from "../../auth/policy-denied-error.js";
import type { PrincipalPolicy } from "../../auth/principal-policy.js";
import type { SpawnRequest } from "../runner.js";
import type { ValidSpawn } from "./spawn-request.js";

function denied(policy: PrincipalPolicy, rule: string, limit: string | number, message: string): PolicyDeniedError {
  return new PolicyDeniedError(rule, limit, `policy "${policy.name}" (rule ${rule}) ${message}`, policy.name);
}

/**
 * Narrows a checked spawn by the caller's policy: what the caller left to the defaults is lowered to the policy's
 * limits (cpus, memory, pids) and network is off when the policy says so; what the caller asked for beyond them, or a
 * mount the policy does not grant, is refused with POLICY_DENIED naming the policy and the rule.
 */
export function applyCallerPolicy(
  spawn: ValidSpawn,
  request: SpawnRequest,
  policy: PrincipalPolicy | undefined,
): ValidSpawn {
  if (!policy) return spawn;
  let { cpus, memoryMb, pids } = spawn.limits;
  if (policy.maxCpus !== undefined && cpus > policy.maxCpus) {
    if (request.cpus !== undefined)
      throw denied(
        policy,
        "max_cpus",
        policy.maxCpus,
        `allows at most ${policy.maxCpus} cpus, not ${cpus}; ask for ${policy.maxCpus} or less.`,
      );
    cpus = policy.maxCpus;
  }
  if (policy.maxMemoryMb !== undefined && memoryMb > policy.maxMemoryMb) {
    if (request.memoryMb !== undefined)
      throw denied(
        policy,
        "max_memory_mb",
        policy.maxMemoryMb,
        `allows at most ${policy.maxMemoryMb} memory_mb, not ${memoryMb}; ask for ${policy.maxMemoryMb} or less.`,
      );
    memoryMb = policy.maxMemoryMb;
  }
  if (policy.maxPids !== undefined) pids = Math.min(pids, policy.maxPids);
  let network = spawn.network;
  if (policy.network === false) {
    if (request.network === true)
      throw denied(policy, "network", "false", "gives runners no network; omit network or pass network: false.");
    network = false;
  }
  const granted = policy.mounts;
  if (granted) {
    for (const mount of spawn.mounts) {
      if (!granted.has(mount.alias)) {
        const aliases = [...granted.keys()];
        throw denied(
          policy,
          "mounts",
          aliases.join(", "),
          `does not allow mounting "${mount.alias}"; ${aliases.length ? `it allows ${aliases.map((alias) => `"${alias}"`).join(", ")}` : "it allows no mounts"}.`,
        );
      }
      if (mount.mode === "rw" && granted.get(mount.alias) === "ro")
        throw denied(policy, "mounts", `${mount.alias}:ro`, `allows "${mount.alias}" read-only; ask for mode "ro".`);
    }
  }
  return { ...spawn, limits: { cpus, memoryMb, pids }, network };
}
