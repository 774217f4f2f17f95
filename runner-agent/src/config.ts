import { z } from "zod";
import { AGENT_DEFAULT_DEBUG_PORT, AGENT_DEFAULT_PORT, AGENT_ENV, AGENT_TOKEN_MIN_LENGTH } from "@devhatchery/proto/contract";
import { DEFAULT_EXEC_SETTINGS, MIN_OUTPUT_TO_RING_RATIO, type ExecSettings } from "./exec/exec-settings.js";

/** Agent-only exec settings (the control plane never sets them); the prefix keeps them out of child processes. */
export const EXEC_ENV = {
  spillDir: "DEVHATCHERY_AGENT_EXEC_SPILL_DIR",
  ringBytes: "DEVHATCHERY_AGENT_EXEC_RING_BYTES",
  maxOutputBytes: "DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES",
  retainMs: "DEVHATCHERY_AGENT_EXEC_RETAIN_MS",
  retainCount: "DEVHATCHERY_AGENT_EXEC_RETAIN_COUNT",
} as const;

/** Where spill files go by default: the container's disk, never /work (the user's) nor /tmp (often memory). */
const DEFAULT_SPILL_DIR = "/var/tmp/devhatchery-agent/exec";

export interface AgentConfig {
  token: string;
  host: string;
  port: number;
  /** Port of the HTTP debug endpoint; 0 disables it. */
  debugPort: number;
  workDir: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  exec: ExecSettings;
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
  [EXEC_ENV.spillDir]: z.string().startsWith("/", `${EXEC_ENV.spillDir} must be an absolute path`).default(DEFAULT_SPILL_DIR),
  [EXEC_ENV.ringBytes]: z.coerce.number().int().min(4096).default(DEFAULT_EXEC_SETTINGS.ringBytes),
  [EXEC_ENV.maxOutputBytes]: z.coerce.number().int().min(16384).default(DEFAULT_EXEC_SETTINGS.maxOutputBytes),
  // A finished process must outlive the streams reading its last output, so neither may be zero.
  [EXEC_ENV.retainMs]: z.coerce.number().int().min(1000).default(DEFAULT_EXEC_SETTINGS.retainMs),
  [EXEC_ENV.retainCount]: z.coerce.number().int().min(1).default(DEFAULT_EXEC_SETTINGS.retainCount),
}).refine((values) => values[EXEC_ENV.maxOutputBytes] >= MIN_OUTPUT_TO_RING_RATIO * values[EXEC_ENV.ringBytes], {
  path: [EXEC_ENV.maxOutputBytes],
  message: `${EXEC_ENV.maxOutputBytes} must be at least ${MIN_OUTPUT_TO_RING_RATIO} times ${EXEC_ENV.ringBytes}`,
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
    exec: {
      ...DEFAULT_EXEC_SETTINGS,
      spillDir: values[EXEC_ENV.spillDir],
      ringBytes: values[EXEC_ENV.ringBytes],
      maxOutputBytes: values[EXEC_ENV.maxOutputBytes],
      retainMs: values[EXEC_ENV.retainMs],
      retainCount: values[EXEC_ENV.retainCount],
    },
  };
}
