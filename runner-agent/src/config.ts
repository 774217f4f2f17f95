import { z } from "zod";
import { AGENT_DEFAULT_DEBUG_PORT, AGENT_DEFAULT_PORT, AGENT_ENV, AGENT_TOKEN_MIN_LENGTH } from "@devhatchery/proto/contract";

export interface AgentConfig {
  token: string;
  host: string;
  port: number;
  /** Port of the HTTP debug endpoint; 0 disables it. */
  debugPort: number;
  workDir: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

const schema = z.object({
  [AGENT_ENV.token]: z
    .string({ error: `${AGENT_ENV.token} is required: the control plane sets it when it creates the runner` })
    .min(AGENT_TOKEN_MIN_LENGTH, `${AGENT_ENV.token} must be at least ${AGENT_TOKEN_MIN_LENGTH} characters`),
  [AGENT_ENV.host]: z.string().min(1).default("0.0.0.0"),
  [AGENT_ENV.port]: z.coerce.number().int().min(0).max(65535).default(AGENT_DEFAULT_PORT),
  [AGENT_ENV.debugPort]: z.coerce.number().int().min(0).max(65535).default(AGENT_DEFAULT_DEBUG_PORT),
  [AGENT_ENV.workDir]: z.string().startsWith("/", `${AGENT_ENV.workDir} must be an absolute path`).default("/work"),
  [AGENT_ENV.logLevel]: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** Parses the agent's configuration from the environment, listing every problem at once. */
export function loadAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid runner agent configuration:\n  ${problems.join("\n  ")}`);
  }
  const values = parsed.data;
  return {
    token: values[AGENT_ENV.token],
    host: values[AGENT_ENV.host],
    port: values[AGENT_ENV.port],
    debugPort: values[AGENT_ENV.debugPort],
    workDir: values[AGENT_ENV.workDir],
    logLevel: values[AGENT_ENV.logLevel],
  };
}
