import { AGENT_ENV_PREFIX } from "@devhatchery/proto/contract";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The environment for a process the agent starts: the agent's own environment without any agent setting
 * (the runner token above all), then the caller's variables on top.
 */
export function createChildEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !name.startsWith(AGENT_ENV_PREFIX)) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  for (const [name, value] of Object.entries(extra)) {
    if (!name.startsWith(AGENT_ENV_PREFIX)) env[name] = value;
  }
  return env;
}
