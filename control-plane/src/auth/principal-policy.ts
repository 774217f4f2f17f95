import { QUOTA_NAMES, type ImagePullPolicy, type PolicyConfig, type QuotaLimits } from "../config.js";
import { expandToolList } from "../config/tool-sets.js";

/**
 * A named policy as it applies to one caller: every field narrows the server-wide limits; an absent field leaves
 * them as they are.
 */
export interface PrincipalPolicy {
  readonly name: string;
  /** Built-in "deny": the caller is refused at the door. */
  readonly denyAll: boolean;
  readonly images?: readonly string[];
  readonly pull?: ImagePullPolicy;
  readonly maxCpus?: number;
  readonly maxMemoryMb?: number;
  readonly maxPids?: number;
  readonly maxRunners?: number;
  /** Alias → the most this policy may ask for ("ro", or the root's own mode when undefined); absent: every root. */
  readonly mounts?: ReadonlyMap<string, "ro" | "rw" | undefined>;
  readonly network?: boolean;
  /** Seconds idle before the idle action (0: never); absent: lifecycle.idle_stop_after_s. */
  readonly idleStopAfterS?: number;
  /** Quotas of this policy (within the server's quotas.*); absent keys leave the server's. */
  readonly quotas?: QuotaLimits;
  /** The tools it may call; absent: all. */
  readonly tools?: ReadonlySet<string>;
}

export const UNRESTRICTED_POLICY: PrincipalPolicy = { name: "unrestricted", denyAll: false };
export const DENY_POLICY: PrincipalPolicy = { name: "deny", denyAll: true };

function compile(policy: PolicyConfig): PrincipalPolicy {
  const tools = expandToolList(policy.tools);
  return {
    name: policy.name,
    denyAll: false,
    ...(policy.images ? { images: policy.images } : {}),
    ...(policy.pull ? { pull: policy.pull } : {}),
    ...(policy.maxCpus !== undefined ? { maxCpus: policy.maxCpus } : {}),
    ...(policy.maxMemoryMb !== undefined ? { maxMemoryMb: policy.maxMemoryMb } : {}),
    ...(policy.maxPids !== undefined ? { maxPids: policy.maxPids } : {}),
    ...(policy.maxRunners !== undefined ? { maxRunners: policy.maxRunners } : {}),
    ...(policy.mounts ? { mounts: new Map(policy.mounts.map(({ alias, mode }) => [alias, mode])) } : {}),
    ...(policy.network !== undefined ? { network: policy.network } : {}),
    ...(policy.idleStopAfterS !== undefined ? { idleStopAfterS: policy.idleStopAfterS } : {}),
    ...(Object.values(policy.quotas ?? {}).some((value) => value !== undefined) ? { quotas: policy.quotas } : {}),
    ...(tools ? { tools } : {}),
  };
}

/** How a caller got its policy: which policy, and whether a principal, a group or the default matched. */
export interface PolicyMatch {
  policy: PrincipalPolicy;
  matched: { by: "principal"; value: string } | { by: "group"; value: string } | { by: "default" };
}

/** Resolves callers' policies: the first policy naming the principal or one of its groups, else the default. */
export class PolicyResolver {
  private readonly compiled: Array<{ config: PolicyConfig; policy: PrincipalPolicy }>;
  private readonly fallback: PrincipalPolicy;

  constructor(policies: readonly PolicyConfig[], defaultPolicy: string) {
    this.compiled = policies.map((config) => ({ config, policy: compile(config) }));
    this.fallback =
      defaultPolicy === DENY_POLICY.name
        ? DENY_POLICY
        : (this.compiled.find(({ config }) => config.name === defaultPolicy)?.policy ?? UNRESTRICTED_POLICY);
  }

  resolve(principal: string, groups: readonly string[] = []): PolicyMatch {
    for (const { config, policy } of this.compiled) {
      if (config.principals.includes(principal)) return { policy, matched: { by: "principal", value: principal } };
      const group = groups.find((candidate) => config.groups.includes(candidate));
      if (group !== undefined) return { policy, matched: { by: "group", value: group } };
    }
    return { policy: this.fallback, matched: { by: "default" } };
  }
}

/** The policy's rules in words, one per line (for `devhatchery plan` and the docs). */
export function describePolicy(policy: PrincipalPolicy): string[] {
  if (policy.denyAll) return ["refused: every request is answered 403"];
  const lines: string[] = [];
  if (policy.images) lines.push(`images ${policy.images.join(", ")} (and images.allowed)`);
  if (policy.pull) lines.push(`pull ${policy.pull}`);
  const limits = [
    policy.maxCpus !== undefined ? `cpus ≤ ${policy.maxCpus}` : "",
    policy.maxMemoryMb !== undefined ? `memory_mb ≤ ${policy.maxMemoryMb}` : "",
    policy.maxPids !== undefined ? `pids ≤ ${policy.maxPids}` : "",
    policy.maxRunners !== undefined ? `runners ≤ ${policy.maxRunners}` : "",
  ].filter(Boolean);
  if (limits.length) lines.push(limits.join(", "));
  if (policy.mounts)
    lines.push(
      `mounts ${[...policy.mounts].map(([alias, mode]) => (mode ? `${alias}:${mode}` : alias)).join(", ") || "none"}`,
    );
  if (policy.network === false) lines.push("network off");
  const quotas = Object.entries(policy.quotas ?? {}).filter(([, value]) => value !== undefined);
  if (quotas.length)
    lines.push(
      `quotas ${quotas.map(([key, value]) => `${QUOTA_NAMES[key as keyof QuotaLimits]} ${value}`).join(", ")}`,
    );
  if (policy.idleStopAfterS !== undefined)
    lines.push(policy.idleStopAfterS === 0 ? "never stopped for idleness" : `idle after ${policy.idleStopAfterS} s`);
  lines.push(`tools ${policy.tools ? [...policy.tools].join(", ") || "none" : "all"}`);
  return lines;
}
