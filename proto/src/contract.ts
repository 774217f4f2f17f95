/**
 * Constants of the agent contract shared by the control plane and the runner agent: how the agent is
 * configured inside a runner and how callers authenticate. The RPCs themselves are in the .proto files.
 */

/** Environment variables the control plane sets on a runner and the agent reads (and hides from children). */
export const AGENT_ENV = {
  token: "DEVHATCHERY_AGENT_TOKEN",
  port: "DEVHATCHERY_AGENT_PORT",
  debugPort: "DEVHATCHERY_AGENT_DEBUG_PORT",
  host: "DEVHATCHERY_AGENT_HOST",
  workDir: "DEVHATCHERY_AGENT_WORKDIR",
  logLevel: "DEVHATCHERY_AGENT_LOG_LEVEL",
  /** MiB of spilled exec output the agent keeps for all its processes together (config limits.exec_output_mb). */
  execOutputMb: "DEVHATCHERY_AGENT_EXEC_OUTPUT_MB",
} as const;

/** Every variable whose name starts with this prefix is removed from the environment of processes the agent starts. */
export const AGENT_ENV_PREFIX = "DEVHATCHERY_AGENT_";

/** The port the agent listens on inside a runner unless configured otherwise. */
export const AGENT_DEFAULT_PORT = 7070;

/** The port of the agent's read-only HTTP debug endpoint (same token); 0 turns it off. */
export const AGENT_DEFAULT_DEBUG_PORT = 7071;

/** gRPC metadata key carrying the runner's token as `Bearer <token>`. */
export const AGENT_AUTH_METADATA_KEY = "authorization";

/**
 * gRPC metadata key carrying the correlation id of the request that caused a call (the control plane's
 * X-Request-Id); the agent logs it on the lines about that call.
 */
export const AGENT_CORRELATION_METADATA_KEY = "x-devhatchery-correlation-id";

/** Minimum token length the agent accepts at start-up. */
export const AGENT_TOKEN_MIN_LENGTH = 32;
