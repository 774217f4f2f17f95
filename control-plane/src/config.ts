import { isIP } from "node:net";
import { homedir } from "node:os";
import { isAbsolute, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export type AuthMode = "none" | "bearer";

export interface BearerTokenEntry {
  principal: string;
  token: string;
}

/** A host folder runners may mount by alias (DEVHATCHERY_ALLOWED_ROOTS); read-only unless `allowRw` and asked for. */
export interface AllowedRoot {
  alias: string;
  hostPath: string;
  /** Whether a runner may ask for this alias read-write (and exports may be written into its mounts). */
  allowRw: boolean;
}

export interface ControlPlaneConfig {
  listen: { host: string; port: number };
  auth: { mode: AuthMode; tokens: BearerTokenEntry[] };
  /** Host header values accepted on /mcp besides the listen address and loopback names. */
  allowedHosts: string[];
  /** Origin header values accepted on /mcp; requests without Origin are always accepted. */
  allowedOrigins: string[];
  defaultImage: string;
  runnerNetwork: string;
  readyTimeoutMs: number;
  dockerHost: string | undefined;
  /** Injected agent delivery: the bundle to copy into agent volumes and where the agent's Node runtimes are cached. */
  agent: { bundlePath: string; cacheDir: string };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** An MCP session with no request and no open stream for this long is closed. */
  sessionIdleTimeoutMs: number;
  /** Serve the MCP conformance suite's fixture tools, resources and prompts. Tests only; never in production. */
  testFixtures: boolean;
  /** Host folders runners may mount under /export/<alias>. */
  allowedRoots: AllowedRoot[];
  /** Where export_create writes (a folder per principal), and the most bytes (uncompressed tar) one export may hold. */
  exports: { root: string; maxBytes: number };
  /** Where the state store lives (<stateDir>/state.db): idempotency keys, spawns in flight, activity, tasks. */
  stateDir: string;
  /** Images pulled in the background at start-up (readiness does not wait for them). */
  prepullImages: string[];
  /** Runner limits: what a spawn gets when it asks for nothing, and the most it may ask for. */
  limits: {
    defaults: { cpus: number; memoryMb: number; pids: number };
    max: { cpus: number; memoryMb: number; pids: number };
    /** Runners (any status) one principal may have at once. */
    maxRunnersPerPrincipal: number;
    /** Size of /work for storage "tmpfs". */
    tmpfsMb: number;
  };
  /** The operator's minimum isolation profile: "hardened" makes every runner hardened. */
  profile: "default" | "hardened";
  /** Audit log destination: "stderr", "stdout" or an absolute file path (JSON lines); undefined turns it off. */
  auditLog: string | undefined;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; undefined turns tracing off. */
  otlpEndpoint: string | undefined;
  /** How long shutdown lets open streams finish before cutting them. */
  shutdownGraceMs: number;
}

export const ENV = {
  listenHost: "DEVHATCHERY_LISTEN_HOST",
  listenPort: "DEVHATCHERY_LISTEN_PORT",
  authMode: "DEVHATCHERY_AUTH",
  bearerTokens: "DEVHATCHERY_BEARER_TOKENS",
  allowedHosts: "DEVHATCHERY_ALLOWED_HOSTS",
  allowedOrigins: "DEVHATCHERY_ALLOWED_ORIGINS",
  defaultImage: "DEVHATCHERY_DEFAULT_IMAGE",
  runnerNetwork: "DEVHATCHERY_RUNNER_NETWORK",
  readyTimeoutMs: "DEVHATCHERY_READY_TIMEOUT_MS",
  dockerHost: "DEVHATCHERY_DOCKER_HOST",
  agentBundle: "DEVHATCHERY_AGENT_BUNDLE",
  cacheDir: "DEVHATCHERY_CACHE_DIR",
  logLevel: "DEVHATCHERY_LOG_LEVEL",
  sessionIdleTimeoutMs: "DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS",
  testFixtures: "DEVHATCHERY_TEST_FIXTURES",
  allowedRoots: "DEVHATCHERY_ALLOWED_ROOTS",
  exportRoot: "DEVHATCHERY_EXPORT_ROOT",
  exportMaxBytes: "DEVHATCHERY_EXPORT_MAX_BYTES",
  stateDir: "DEVHATCHERY_STATE_DIR",
  prepull: "DEVHATCHERY_PREPULL",
  defaultCpus: "DEVHATCHERY_DEFAULT_CPUS",
  defaultMemoryMb: "DEVHATCHERY_DEFAULT_MEMORY_MB",
  defaultPids: "DEVHATCHERY_DEFAULT_PIDS",
  maxCpus: "DEVHATCHERY_MAX_CPUS",
  maxMemoryMb: "DEVHATCHERY_MAX_MEMORY_MB",
  maxPids: "DEVHATCHERY_MAX_PIDS",
  maxRunners: "DEVHATCHERY_MAX_RUNNERS",
  tmpfsMb: "DEVHATCHERY_TMPFS_MB",
  profile: "DEVHATCHERY_PROFILE",
  auditLog: "DEVHATCHERY_AUDIT_LOG",
  otlpEndpoint: "DEVHATCHERY_OTLP_ENDPOINT",
  shutdownGraceMs: "DEVHATCHERY_SHUTDOWN_GRACE_MS",
} as const;

/** Mount aliases: lower-case letters, digits, "_" and "-", starting with a letter or digit. */
export const MOUNT_ALIAS_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const DEFAULT_EXPORT_MAX_BYTES = 5 * 1024 * 1024 * 1024;

export const BEARER_TOKEN_MIN_LENGTH = 16;
const PRINCIPAL_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$/;

/** The agent bundle beside a built (or source) control plane in this repository: runner-agent/dist/agent.cjs. */
export const DEFAULT_AGENT_BUNDLE = fileURLToPath(new URL("../../runner-agent/dist/agent.cjs", import.meta.url));

const absolutePath = z.string().refine(isAbsolute, "must be an absolute path");

const list = z
  .string()
  .optional()
  .transform((value) => (value ?? "").split(",").map((item) => item.trim()).filter(Boolean));

const schema = z.object({
  [ENV.listenHost]: z.string().min(1).default("127.0.0.1"),
  [ENV.listenPort]: z.coerce.number().int().min(0).max(65535).default(8080),
  [ENV.authMode]: z.enum(["none", "bearer"], { error: "must be none or bearer" }).optional(),
  [ENV.bearerTokens]: list,
  [ENV.allowedHosts]: list,
  [ENV.allowedOrigins]: list,
  [ENV.defaultImage]: z.string().min(1).default("ubuntu:24.04"),
  [ENV.runnerNetwork]: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a Docker network name").default("devhatchery-runners"),
  [ENV.readyTimeoutMs]: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  [ENV.dockerHost]: z.string().min(1).optional(),
  [ENV.agentBundle]: absolutePath.default(DEFAULT_AGENT_BUNDLE),
  [ENV.cacheDir]: absolutePath.optional(),
  [ENV.logLevel]: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  [ENV.sessionIdleTimeoutMs]: z.coerce.number().int().min(1000).max(7 * 24 * 60 * 60 * 1000).default(30 * 60 * 1000),
  [ENV.allowedRoots]: list,
  [ENV.exportRoot]: absolutePath.optional(),
  [ENV.exportMaxBytes]: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_EXPORT_MAX_BYTES),
  [ENV.stateDir]: absolutePath.optional(),
  [ENV.prepull]: list,
  [ENV.defaultCpus]: z.coerce.number().positive().max(1024).default(2),
  [ENV.defaultMemoryMb]: z.coerce.number().int().min(64).max(1_048_576).default(2048),
  [ENV.defaultPids]: z.coerce.number().int().min(32).max(1_000_000).default(4096),
  [ENV.maxCpus]: z.coerce.number().positive().max(1024).default(4),
  [ENV.maxMemoryMb]: z.coerce.number().int().min(64).max(1_048_576).default(8192),
  [ENV.maxPids]: z.coerce.number().int().min(32).max(1_000_000).default(16384),
  [ENV.maxRunners]: z.coerce.number().int().min(1).max(10_000).default(50),
  [ENV.tmpfsMb]: z.coerce.number().int().min(16).max(1_048_576).default(1024),
  [ENV.profile]: z.enum(["default", "hardened"]).default("default"),
  [ENV.auditLog]: z.string().min(1).optional(),
  [ENV.otlpEndpoint]: z.url().optional(),
  [ENV.shutdownGraceMs]: z.coerce.number().int().min(0).max(600_000).default(10_000),
  [ENV.testFixtures]: z.enum(["0", "1"], { error: 'must be "1" (serve the conformance fixtures, tests only) or "0"' }).default("0"),
});

/** `$XDG_STATE_HOME/devhatchery`, else `~/.local/state/devhatchery`. */
function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".local", "state"), "devhatchery");
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}

/** `$XDG_CACHE_HOME/devhatchery`, else `~/.cache/devhatchery`. */
function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache"), "devhatchery");
}

/** `$XDG_STATE_HOME/devhatchery/exports`, else `~/.local/state/devhatchery/exports`. */
function defaultExportRoot(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".local", "state"), "devhatchery", "exports");
}

/** `alias=/host/path[:ro|:rw]` entries; `:rw` lets runners ask for read-write, the default is read-only. */
function parseAllowedRoots(entries: string[], problems: string[]): AllowedRoot[] {
  const roots: AllowedRoot[] = [];
  entries.forEach((entry, index) => {
    const where = `${ENV.allowedRoots}[${index}] "${entry}"`;
    const separator = entry.indexOf("=");
    const alias = separator > 0 ? entry.slice(0, separator) : "";
    const rest = separator > 0 ? entry.slice(separator + 1) : "";
    const modeMatch = /:(ro|rw)$/.exec(rest);
    const hostPath = modeMatch ? rest.slice(0, -3) : rest;
    if (!MOUNT_ALIAS_PATTERN.test(alias)) {
      problems.push(`${where}: expected "alias=/host/path[:ro|:rw]" with an alias of lower-case letters, digits, "_" or "-" (at most 32), e.g. "data=/srv/data:ro"`);
    } else if (!isAbsolute(hostPath) || normalize(hostPath) !== hostPath || hostPath.endsWith("/")) {
      problems.push(`${where}: the host path must be an absolute, normalized folder other than "/", e.g. "${alias}=/srv/${alias}:ro"`);
    } else if (roots.some((root) => root.alias === alias)) {
      problems.push(`${where}: alias "${alias}" is listed twice; give each allowed root its own alias`);
    } else {
      roots.push({ alias, hostPath, allowRw: modeMatch?.[1] === "rw" });
    }
  });
  return roots;
}

function parseTokens(entries: string[], problems: string[]): BearerTokenEntry[] {
  return entries.flatMap((entry, index) => {
    const separator = entry.indexOf(":");
    const principal = separator > 0 ? entry.slice(0, separator) : "";
    const token = separator > 0 ? entry.slice(separator + 1) : "";
    if (!PRINCIPAL_PATTERN.test(principal)) {
      problems.push(`${ENV.bearerTokens}[${index}]: expected "principal:token" with a principal of letters, digits, ".", "_", "@" or "-"`);
      return [];
    }
    if (token.length < BEARER_TOKEN_MIN_LENGTH) {
      problems.push(`${ENV.bearerTokens}[${index}] (principal "${principal}"): the token must be at least ${BEARER_TOKEN_MIN_LENGTH} characters; generate one with \`openssl rand -hex 32\``);
      return [];
    }
    return [{ principal, token }];
  });
}

/** Parses the control plane's configuration from the environment once, listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n  ")}`);
  }
  const values = parsed.data;
  const problems: string[] = [];
  const tokens = parseTokens(values[ENV.bearerTokens], problems);
  const allowedRoots = parseAllowedRoots(values[ENV.allowedRoots], problems);
  const host = values[ENV.listenHost];
  const mode: AuthMode = values[ENV.authMode] ?? (values[ENV.bearerTokens].length > 0 ? "bearer" : "none");
  if (mode === "none" && !isLoopbackHost(host)) {
    problems.push(`${ENV.authMode}: auth "none" is only allowed on a loopback address, not "${host}"; set ${ENV.authMode}=bearer with ${ENV.bearerTokens}, or listen on 127.0.0.1`);
  }
  if (mode === "bearer" && values[ENV.bearerTokens].length === 0) {
    problems.push(`${ENV.bearerTokens}: auth "bearer" needs at least one "principal:token" entry`);
  }
  if (problems.length > 0) throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  return {
    listen: { host, port: values[ENV.listenPort] },
    auth: { mode, tokens },
    allowedHosts: values[ENV.allowedHosts],
    allowedOrigins: values[ENV.allowedOrigins],
    defaultImage: values[ENV.defaultImage],
    runnerNetwork: values[ENV.runnerNetwork],
    readyTimeoutMs: values[ENV.readyTimeoutMs],
    dockerHost: values[ENV.dockerHost],
    agent: { bundlePath: values[ENV.agentBundle], cacheDir: values[ENV.cacheDir] ?? defaultCacheDir(env) },
    logLevel: values[ENV.logLevel],
    sessionIdleTimeoutMs: values[ENV.sessionIdleTimeoutMs],
    testFixtures: values[ENV.testFixtures] === "1",
    allowedRoots,
    exports: { root: values[ENV.exportRoot] ?? defaultExportRoot(env), maxBytes: values[ENV.exportMaxBytes] },
    stateDir: values[ENV.stateDir] ?? defaultStateDir(env),
    prepullImages: values[ENV.prepull],
    limits: {
      defaults: { cpus: values[ENV.defaultCpus], memoryMb: values[ENV.defaultMemoryMb], pids: values[ENV.defaultPids] },
      max: { cpus: values[ENV.maxCpus], memoryMb: values[ENV.maxMemoryMb], pids: values[ENV.maxPids] },
      maxRunnersPerPrincipal: values[ENV.maxRunners],
      tmpfsMb: values[ENV.tmpfsMb],
    },
    profile: values[ENV.profile],
    auditLog: values[ENV.auditLog],
    otlpEndpoint: values[ENV.otlpEndpoint],
    shutdownGraceMs: values[ENV.shutdownGraceMs],
  };
}
