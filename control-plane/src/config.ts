/**
 * The control plane's configuration (ControlPlaneConfig) and how it is loaded: embedded defaults → devhatchery.yaml
 * → DEVHATCHERY_* overrides, one zod schema (config/config-schema.ts), every problem listed at once.
 */
export { ENV, type EnvName } from "./config/config-env.js";
export { ConfigError, type ConfigProblem } from "./config/config-error.js";
export {
  BEARER_TOKEN_MIN_LENGTH,
  DEFAULT_AGENT_BUNDLE,
  DEFAULT_EXPORT_MAX_BYTES,
  MOUNT_ALIAS_PATTERN,
} from "./config/config-schema.js";
import type { ImagePullPolicy } from "./config/config-schema.js";
export type { ImagePullPolicy } from "./config/config-schema.js";
export { isImageAllowed } from "./config/image-pattern.js";
export { loadConfig } from "./config/load-config.js";
export { isLoopbackHost } from "./config/loopback-host.js";

export type AuthMode = "none" | "bearer" | "oidc";

/** A bearer token as the control plane keeps it: only its SHA-256, never the token itself. */
export interface BearerTokenEntry {
  principal: string;
  /** SHA-256 of the token, 64 lower-case hex digits. */
  tokenSha256: string;
  /** Groups policies match, as they match an OIDC token's groups. */
  groups?: readonly string[];
}

/** auth.oidc: how access tokens of an OpenID Provider are validated and mapped to principals (auth.mode "oidc"). */
export interface OidcConfig {
  issuer: string;
  /** The aud every token must carry (this server's resource indicator). */
  audience: string;
  /** The public URL of /mcp, published as the protected resource (RFC 9728). */
  resource: string;
  /** Scopes every token must carry. */
  scopes: string[];
  /** Scopes clients are told to ask for (metadata and WWW-Authenticate); usually the same as scopes. */
  advertisedScopes: string[];
  principalClaim: string;
  groupsClaim: string;
  algorithms: string[];
  clockSkewS: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  httpTimeoutMs: number;
  /** RFC 7662 introspection of opaque tokens; undefined accepts JWT access tokens only. */
  introspection: { clientId: string; secretFile: string; cacheMs: number } | undefined;
}

/** One named policy of the configuration (see auth/principal-policy.ts for how it applies). */
export interface PolicyConfig {
  name: string;
  principals: string[];
  groups: string[];
  images: string[] | undefined;
  pull: ImagePullPolicy | undefined;
  maxCpus: number | undefined;
  maxMemoryMb: number | undefined;
  maxPids: number | undefined;
  maxRunners: number | undefined;
  /** Allowed-root aliases this policy may mount, each with the most it may ask for; undefined: every root. */
  mounts: Array<{ alias: string; mode: "ro" | "rw" | undefined }> | undefined;
  network: boolean | undefined;
  /** Seconds idle before the idle action; 0 never; undefined: lifecycle.idle_stop_after_s. */
  idleStopAfterS: number | undefined;
  /** This policy's quotas (within the server's quotas). */
  quotas: QuotaLimits;
  tools: string[];
}

/** A host folder runners may mount by alias (DEVHATCHERY_ALLOWED_ROOTS); read-only unless `allowRw` and asked for. */
export interface AllowedRoot {
  alias: string;
  hostPath: string;
  /** Whether a runner may ask for this alias read-write (and exports may be written into its mounts). */
  allowRw: boolean;
}

/** What one principal may hold at once; an absent key is no quota. */
export interface QuotaLimits {
  runningRunners?: number | undefined;
  cpus?: number | undefined;
  memoryMb?: number | undefined;
  snapshots?: number | undefined;
  /** MiB of the principal's workspace volumes, as the engine measures them. */
  workspaceDiskMb?: number | undefined;
  /** MiB the principal's snapshots add over the images they were taken from. */
  snapshotMb?: number | undefined;
  /** MiB of the principal's exports in the export root (their manifests' bytes_written). */
  exportMb?: number | undefined;
}

/** The quotas' names as operators and clients see them (quotas.<name>, quota_<name>, QUOTA_EXCEEDED, system_status). */
export const QUOTA_NAMES = {
  runningRunners: "running_runners",
  cpus: "cpus",
  memoryMb: "memory_mb",
  snapshots: "snapshots",
  workspaceDiskMb: "workspace_disk_mb",
  snapshotMb: "snapshot_mb",
  exportMb: "export_mb",
} as const satisfies Record<keyof QuotaLimits, string>;

export type QuotaName = (typeof QUOTA_NAMES)[keyof QuotaLimits];

/** lifecycle.*: idle runners, how long things are kept (seconds, 0 forever) and garbage collection. */
export interface LifecycleConfig {
  idleStopAfterS: number;
  idleAction: "stop" | "pause";
  idleCheckIntervalS: number;
  /** A runner is removed this long after its creation. */
  runnerMaxLifetimeS: number;
  /** A workspace volume no runner mounts is deleted this long after its last use. */
  workspaceRetentionS: number;
  /** A snapshot no runner uses is deleted this long after its creation. */
  snapshotRetentionS: number;
  /** An export in the export root is deleted this long after its creation. */
  exportRetentionS: number;
  /** Owners' sessions are warned this long before a deletion for age. */
  retentionWarningS: number;
  gcIntervalS: number;
  /** Whether images pulled for runners are removed once no container uses them. */
  gcImages: boolean;
}

/** pools[]: a warm pool, its defaults applied (image, profile, limits). */
export interface PoolConfig {
  name: string;
  image: string;
  profile: "default" | "hardened";
  storage: "tmpfs";
  network: boolean;
  /** The limits its runners are created with: the most a claim may ask for. */
  cpus: number;
  memoryMb: number;
  min: number;
  max: number;
  /** Seconds without a claim before a pool that grew past min shrinks back (0: never). */
  idleShrinkAfterS: number;
}

/** jobs.profiles[]: how a job starts its agent, defaults applied. */
export interface JobProfileConfig {
  name: string;
  description: string | undefined;
  image: string;
  command: string[];
  result: "file" | "stdout_json" | "none";
  timeoutS: number;
  network: boolean;
  env: Record<string, string>;
  /** Secrets its jobs need; `from` names the operator secret that supplies it. */
  secrets: Array<{ name: string; from: string | undefined }>;
}

/** jobs.*: one-shot agent jobs. */
export interface JobsConfig {
  maxConcurrent: number;
  maxQueued: number;
  defaultTimeoutS: number;
  maxTimeoutS: number;
  keepForS: number;
  outputMaxMb: number;
  retentionS: number;
  /** Operator secrets: read from `file` at each job, usable by the listed principals and groups ("*": all). */
  secrets: Array<{ name: string; file: string; principals: string[] }>;
  /** The profiles, the built-in "shell" included (unless the operator replaced it). */
  profiles: JobProfileConfig[];
}

export interface ControlPlaneConfig {
  listen: { host: string; port: number };
  auth: { mode: AuthMode; tokens: BearerTokenEntry[]; oidc: OidcConfig | undefined };
  /** Named policies, first match by principal or group; `defaultPolicy` for everyone else (a name, or a built-in). */
  policies: PolicyConfig[];
  defaultPolicy: string;
  /** Host names (no port) accepted on /mcp besides the listen address and loopback names; empty off loopback: any host. */
  allowedHosts: string[];
  /** Origin header values accepted on /mcp; requests without Origin are always accepted. */
  allowedOrigins: string[];
  defaultImage: string;
  /** Image patterns runners may use ("*" matches anything; see isImageAllowed); empty allows every image. */
  allowedImages: string[];
  /** When the engine may pull a runner's image (images.pull). */
  imagePull: ImagePullPolicy;
  /** Registry hosts images may be named from and pulled from (images.registries, default docker.io plus those of the default and prepull images). */
  imageRegistries: string[];
  /** Whether image ids and id prefixes are accepted as runner images (images.allow_id_references). */
  allowIdReferences: boolean;
  runnerNetwork: string;
  readyTimeoutMs: number;
  dockerHost: string | undefined;
  /** Injected agent delivery: the bundle to copy into agent volumes and where the agent's Node runtimes are cached. */
  agent: { bundlePath: string; cacheDir: string };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** An MCP session with no request and no open stream for this long is closed. */
  sessionIdleTimeoutMs: number;
  /** Input bounds (sessions.*): body size, sessions per principal, subscriptions and watches per session. */
  sessionLimits: { maxBodyBytes: number; maxPerPrincipal: number; maxSubscriptions: number; maxWatches: number };
  /** Serve the MCP conformance suite's fixture tools, resources and prompts. Tests only; never in production. */
  testFixtures: boolean;
  /** A test-only fault point (DEVHATCHERY_TEST_FAULT, honoured only with testFixtures), e.g. "claim-crash". */
  testFault?: string | undefined;
  /** Host folders runners may mount under /export/<alias>. */
  allowedRoots: AllowedRoot[];
  /** Where export_create writes (a folder per principal), and the most bytes (uncompressed tar) one export may hold. */
  exports: { root: string; maxBytes: number };
  /** Where the state store lives (<stateDir>/state.db): idempotency keys, spawns in flight, activity, tasks. */
  stateDir: string;
  /**
   * Which objects on the engine are this control plane's: those labelled io.devhatchery.instance=`name`, and, with
   * `adoptUnlabelled`, those made by a version without instance labels.
   */
  instance: { name: string; adoptUnlabelled: boolean };
  /** Images pulled in the background at start-up (readiness does not wait for them). */
  prepullImages: string[];
  /** The apt cache (apt_cache.*): its folder is <stateDir>/apt-cache. */
  aptCache: { enabled: boolean; port: number; maxMb: number; indexTtlS: number };
  /** Warm pools of ready runners that matching spawns claim (pools). */
  pools: PoolConfig[];
  /** One-shot agent jobs (jobs.*). */
  jobs: JobsConfig;
  /** Runner limits: what a spawn gets when it asks for nothing, and the most it may ask for. */
  limits: {
    defaults: { cpus: number; memoryMb: number; pids: number };
    max: { cpus: number; memoryMb: number; pids: number };
    /** Runners (any status) one principal may have at once. */
    maxRunnersPerPrincipal: number;
    /** Size of /work for storage "tmpfs" (capped per runner by its memory limit). */
    tmpfsMb: number;
    /** Exec output each runner's agent keeps on disk for all its processes together (the runtime's default when omitted). */
    execOutputMb?: number;
  };
  /** The operator's minimum isolation profile: "hardened" makes every runner hardened. */
  profile: "default" | "hardened";
  /** Audit log destination: "stderr", "stdout" or an absolute file path (JSON lines); undefined turns it off. */
  auditLog: string | undefined;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; undefined turns tracing off. */
  otlpEndpoint: string | undefined;
  /** Quotas every principal has (quotas.*); policies narrow them. */
  quotas: QuotaLimits;
  /** Idle runners (after how long, 0 never; stop or pause; how often checked) and retention (see LifecycleConfig). */
  lifecycle: LifecycleConfig;
  /** How long shutdown lets open streams finish before cutting them. */
  shutdownGraceMs: number;
}
