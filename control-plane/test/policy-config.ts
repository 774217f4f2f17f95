import type { PolicyConfig } from "../src/config.js";

/** A policy as the configuration yields it: every rule unset (tools: all) unless `fields` sets it. */
export function policyConfig(name: string, fields: Partial<PolicyConfig> = {}): PolicyConfig {
  return {
    name,
    principals: [],
    groups: [],
    images: undefined,
    pull: undefined,
    maxCpus: undefined,
    maxMemoryMb: undefined,
    maxPids: undefined,
    maxRunners: undefined,
    mounts: undefined,
    network: undefined,
    idleStopAfterS: undefined,
    quotas: {},
    tools: ["all"],
    ...fields,
  };
}
