import * as z from "zod/mini";
import { en } from "zod/locales";
import {
  AGENT_DEFAULT_DEBUG_PORT,
  AGENT_DEFAULT_PORT,
  AGENT_ENV,
  AGENT_TOKEN_MIN_LENGTH,
} from "@devhatchery/proto/contract";
import { DEFAULT_EXEC_SETTINGS, MIN_OUTPUT_TO_RING_RATIO, type ExecSettings } from "./exec/exec-settings.js";

/** Agent-only exec settings (the control plane never sets them); the prefix keeps them out of child processes. */
export const EXEC_ENV = {
  spillDir: "DEVHATCHERY_AGENT_EXEC_SPILL_DIR",
  ringBytes: "DEVHATCHERY_AGENT_EXEC_RING_BYTES",
  maxOutputBytes: "DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES",
  retainMs: "DEVHATCHERY_AGENT_EXEC_RETAIN_MS",
  retainCount: "DEVHATCHERY_AGENT_EXEC_RETAIN_COUNT",
} as const;

const MIB = 1024 * 1024;

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

// zod/mini (not zod): the same checks and messages for a fraction of the memory the agent keeps for its lifetime.
// It carries no messages of its own, so it takes zod's English ones.
z.config(en());

const port = (fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(65535)), fallback);
const atLeast = (minimum: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(minimum)), fallback);
const absolutePath = (name: string, fallback: string) =>
  z._default(z.string().check(z.startsWith("/", `${name} must be an absolute path`)), fallback);

const schema = z
  .object({
    [AGENT_ENV.token]: z
      .string({ error: `${AGENT_ENV.token} is required: the control plane sets it when it creates the runner` })
      .check(
        z.minLength(AGENT_TOKEN_MIN_LENGTH, `${AGENT_ENV.token} must be at least ${AGENT_TOKEN_MIN_LENGTH} characters`),
      ),
    [AGENT_ENV.host]: z._default(z.string().check(z.minLength(1)), "0.0.0.0"),
    [AGENT_ENV.port]: port(AGENT_DEFAULT_PORT),
    [AGENT_ENV.debugPort]: port(AGENT_DEFAULT_DEBUG_PORT),
    [AGENT_ENV.workDir]: absolutePath(AGENT_ENV.workDir, "/work"),
    [AGENT_ENV.logLevel]: z._default(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
    [AGENT_ENV.execOutputMb]: atLeast(1, DEFAULT_EXEC_SETTINGS.outputBudgetBytes / MIB),
    [EXEC_ENV.spillDir]: absolutePath(EXEC_ENV.spillDir, DEFAULT_SPILL_DIR),
    [EXEC_ENV.ringBytes]: atLeast(4096, DEFAULT_EXEC_SETTINGS.ringBytes),
    [EXEC_ENV.maxOutputBytes]: atLeast(16384, DEFAULT_EXEC_SETTINGS.maxOutputBytes),
    // A finished process must outlive the streams reading its last output, so neither may be zero.
    [EXEC_ENV.retainMs]: atLeast(1000, DEFAULT_EXEC_SETTINGS.retainMs),
    [EXEC_ENV.retainCount]: atLeast(1, DEFAULT_EXEC_SETTINGS.retainCount),
  })
  .check(
    z.refine((values) => values[EXEC_ENV.maxOutputBytes] >= MIN_OUTPUT_TO_RING_RATIO * values[EXEC_ENV.ringBytes], {
      path: [EXEC_ENV.maxOutputBytes],
      message: `${EXEC_ENV.maxOutputBytes} must be at least ${MIN_OUTPUT_TO_RING_RATIO} times ${EXEC_ENV.ringBytes}`,
    }),
  );

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
      outputBudgetBytes: values[AGENT_ENV.execOutputMb] * MIB,
      retainMs: values[EXEC_ENV.retainMs],
      retainCount: values[EXEC_ENV.retainCount],
    },
  };
}
