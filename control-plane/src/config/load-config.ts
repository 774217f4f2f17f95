import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { ControlPlaneConfig, JobProfileConfig, OidcConfig, PolicyConfig } from "../config.js";
import { checkedConfigSchema, type CheckedConfig } from "./config-checks.js";
import { SHELL_PROFILE } from "./config-schema.js";
import { ENV } from "./config-env.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { readConfigFile } from "./config-file.js";
import { applyOverrides, readEnvOverrides } from "./env-overrides.js";
import { describeIssues } from "./issue-problems.js";
import { DOCKER_HUB, registryOf } from "./image-reference.js";
import { tokenDigest } from "./token-source.js";

/** `$XDG_<kind>_HOME/devhatchery`, else `~/<fallback>/devhatchery`. */
function xdgDir(env: NodeJS.ProcessEnv, variable: "XDG_STATE_HOME" | "XDG_CACHE_HOME", fallback: string[]): string {
  const xdg = env[variable];
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ...fallback), "devhatchery");
}

/** images.registries when not set: Docker Hub and the registries the operator's own images name. */
function defaultRegistries(defaultImage: string, prepull: string[]): string[] {
  return [...new Set([DOCKER_HUB, ...[defaultImage, ...prepull].flatMap((image) => registryOf(image) ?? [])])];
}

/** The instance of a control plane that names none: derived from its state folder, so one state store is one instance. */
export function defaultInstance(stateDir: string): string {
  return createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 12);
}

function toOidcConfig(oidc: CheckedConfig["auth"]["oidc"]): OidcConfig {
  const { issuer, audience } = oidc;
  const resource = oidc.resource ?? audience;
  if (!issuer || !audience || !resource)
    throw new Error("auth.oidc passed the checks without issuer, audience or resource");
  return {
    issuer,
    audience,
    resource,
    scopes: oidc.scopes,
    advertisedScopes: oidc.advertised_scopes ?? oidc.scopes,
    principalClaim: oidc.principal_claim,
    groupsClaim: oidc.groups_claim,
    algorithms: oidc.algorithms,
    clockSkewS: oidc.clock_skew_s,
    jwksCooldownMs: oidc.jwks_cooldown_ms,
    jwksMaxAgeMs: oidc.jwks_max_age_ms,
    httpTimeoutMs: oidc.http_timeout_ms,
    introspection:
      oidc.introspection_client_id && oidc.introspection_secret_file
        ? {
            clientId: oidc.introspection_client_id,
            secretFile: oidc.introspection_secret_file,
            cacheMs: oidc.introspection_cache_ms,
          }
        : undefined,
  };
}

function toPolicyConfig(policy: CheckedConfig["policies"][number]): PolicyConfig {
  return {
    name: policy.name,
    principals: policy.principals,
    groups: policy.groups,
    images: policy.images,
    pull: policy.pull,
    maxCpus: policy.max_cpus,
    maxMemoryMb: policy.max_memory_mb,
    maxPids: policy.max_pids,
    maxRunners: policy.max_runners,
    mounts: policy.mounts?.map((entry) => {
      const [alias, mode] = entry.split(":") as [string, "ro" | "rw" | undefined];
      return { alias, mode };
    }),
    network: policy.network,
    idleStopAfterS: policy.idle_stop_after_s,
    quotas: {
      runningRunners: policy.quota_running_runners,
      cpus: policy.quota_cpus,
      memoryMb: policy.quota_memory_mb,
      snapshots: policy.quota_snapshots,
      workspaceDiskMb: policy.quota_workspace_disk_mb,
      snapshotMb: policy.quota_snapshot_mb,
      exportMb: policy.quota_export_mb,
    },
    tools: policy.tools,
  };
}

function toControlPlaneConfig(file: CheckedConfig, env: NodeJS.ProcessEnv): ControlPlaneConfig {
  const stateDir = xdgDir(env, "XDG_STATE_HOME", [".local", "state"]);
  const tokens = file.auth.tokens.map((entry) => {
    const digest = tokenDigest(entry);
    if (!("sha256" in digest)) throw new Error(`token of "${entry.principal}" passed the checks without a digest`);
    return { principal: entry.principal, tokenSha256: digest.sha256, groups: entry.groups };
  });
  const mode = file.auth.mode ?? (tokens.length > 0 ? "bearer" : "none");
  const { limits } = file;
  return {
    listen: { host: file.listen.host, port: file.listen.port },
    auth: { mode, tokens, oidc: mode === "oidc" ? toOidcConfig(file.auth.oidc) : undefined },
    policies: file.policies.map(toPolicyConfig),
    defaultPolicy: file.default_policy ?? "unrestricted",
    allowedHosts: file.auth.allowed_hosts,
    allowedOrigins: file.auth.allowed_origins,
    defaultImage: file.images.default,
    allowedImages: file.images.allowed,
    imagePull: file.images.pull,
    imageRegistries: file.images.registries ?? defaultRegistries(file.images.default, file.images.prepull),
    allowIdReferences: file.images.allow_id_references,
    runnerNetwork: file.runners.network,
    readyTimeoutMs: file.runners.ready_timeout_ms,
    dockerHost: file.docker.host,
    agent: {
      bundlePath: file.agent.bundle,
      cacheDir: file.agent.cache_dir ?? xdgDir(env, "XDG_CACHE_HOME", [".cache"]),
    },
    logLevel: file.log.level,
    sessionIdleTimeoutMs: file.sessions.idle_timeout_ms,
    sessionLimits: {
      maxBodyBytes: file.sessions.max_body_bytes,
      maxPerPrincipal: file.sessions.max_per_principal,
      maxSubscriptions: file.sessions.max_subscriptions,
      maxWatches: file.sessions.max_watches,
    },
    testFixtures: env[ENV.testFixtures] === "1",
    // Fault points exist for crash tests only, and only with the test fixtures on.
    testFault: env[ENV.testFixtures] === "1" ? env[ENV.testFault] || undefined : undefined,
    allowedRoots: file.allowed_roots.map((root) => ({
      alias: root.alias,
      hostPath: root.path,
      allowRw: root.mode === "rw",
    })),
    exports: { root: file.exports.root ?? join(stateDir, "exports"), maxBytes: file.exports.max_bytes },
    stateDir: file.state.dir ?? stateDir,
    instance: {
      name: file.state.instance ?? defaultInstance(file.state.dir ?? stateDir),
      adoptUnlabelled: file.state.unlabelled_objects === "adopt",
    },
    prepullImages: file.images.prepull,
    aptCache: {
      enabled: file.apt_cache.enabled,
      port: file.apt_cache.port,
      maxMb: file.apt_cache.max_mb,
      indexTtlS: file.apt_cache.index_ttl_s,
    },
    pools: file.pools.map((pool) => ({
      name: pool.name,
      image: pool.image ?? file.images.default,
      profile: pool.profile ?? file.runners.profile,
      storage: "tmpfs",
      network: pool.network,
      cpus: pool.cpus ?? Math.min(limits.defaults.cpus, limits.max.cpus),
      memoryMb: pool.memory_mb ?? Math.min(limits.defaults.memory_mb, limits.max.memory_mb),
      min: pool.min,
      max: Math.max(pool.max ?? pool.min, pool.min, 1),
      idleShrinkAfterS: pool.idle_shrink_after_s,
    })),
    jobs: {
      maxConcurrent: file.jobs.max_concurrent,
      maxQueued: file.jobs.max_queued,
      defaultTimeoutS: file.jobs.default_timeout_s,
      maxTimeoutS: Math.max(file.jobs.max_timeout_s, file.jobs.default_timeout_s),
      keepForS: file.jobs.keep_for_s,
      outputMaxMb: file.jobs.output_max_mb,
      retentionS: file.jobs.retention_s,
      secrets: file.jobs.secrets.map((secret) => ({ ...secret })),
      profiles: jobProfiles(file.jobs.profiles, file.images.default, file.jobs.default_timeout_s),
    },
    limits: {
      defaults: { cpus: limits.defaults.cpus, memoryMb: limits.defaults.memory_mb, pids: limits.defaults.pids },
      max: { cpus: limits.max.cpus, memoryMb: limits.max.memory_mb, pids: limits.max.pids },
      maxRunnersPerPrincipal: limits.max_runners_per_principal,
      tmpfsMb: limits.tmpfs_mb,
      execOutputMb: limits.exec_output_mb,
    },
    profile: file.runners.profile,
    auditLog: file.log.audit === "off" ? undefined : file.log.audit,
    otlpEndpoint: file.telemetry.otlp_endpoint,
    shutdownGraceMs: file.shutdown.grace_ms,
    quotas: {
      runningRunners: file.quotas.running_runners,
      cpus: file.quotas.cpus,
      memoryMb: file.quotas.memory_mb,
      snapshots: file.quotas.snapshots,
      workspaceDiskMb: file.quotas.workspace_disk_mb,
      snapshotMb: file.quotas.snapshot_mb,
      exportMb: file.quotas.export_mb,
    },
    lifecycle: {
      idleStopAfterS: file.lifecycle.idle_stop_after_s ?? (mode === "none" ? 0 : 1800),
      idleAction: file.lifecycle.idle_action,
      idleCheckIntervalS: file.lifecycle.idle_check_interval_s,
      runnerMaxLifetimeS: file.lifecycle.runner_max_lifetime_s,
      workspaceRetentionS: file.lifecycle.workspace_retention_s,
      snapshotRetentionS: file.lifecycle.snapshot_retention_s,
      exportRetentionS: file.lifecycle.export_retention_s,
      retentionWarningS: file.lifecycle.retention_warning_s,
      gcIntervalS: file.lifecycle.gc_interval_s,
      gcImages: file.lifecycle.gc_images,
    },
  };
}

/**
 * The control plane's configuration: the embedded defaults, then devhatchery.yaml at `configPath` (none is fine; a
 * named file that is missing is an error), then DEVHATCHERY_* overrides. Throws a ConfigError listing every problem.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  configPath: string | undefined = env[ENV.config] || undefined,
): ControlPlaneConfig {
  const file = configPath === undefined ? { raw: {}, problems: [] } : readConfigFile(configPath);
  const { overrides, problems: envProblems } = readEnvOverrides(env);
  const input = applyOverrides(file.raw, overrides);
  const parsed = checkedConfigSchema.safeParse(input);
  const reported = new Set(envProblems.map((problem) => problem.where));
  const schemaProblems = parsed.success
    ? []
    : describeIssues(parsed.error.issues, input, overrides).filter((problem) => !reported.has(problem.where));
  const problems: ConfigProblem[] = [...file.problems, ...envProblems, ...schemaProblems];
  const fixtures = env[ENV.testFixtures];
  if (fixtures !== undefined && fixtures !== "0" && fixtures !== "1") {
    problems.push({
      where: ENV.testFixtures,
      message: `must be "1" (serve the conformance fixtures, tests only) or "0", got ${JSON.stringify(fixtures)}`,
    });
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return toControlPlaneConfig(parsed.data, env);
}

/** The operator's job profiles with defaults applied, plus the built-in "shell" unless one of them is named so. */
function jobProfiles(
  profiles: CheckedConfig["jobs"]["profiles"],
  defaultImage: string,
  defaultTimeoutS: number,
): JobProfileConfig[] {
  const configured = profiles.map((profile): JobProfileConfig => ({
    name: profile.name,
    description: profile.description,
    image: profile.image ?? defaultImage,
    command: profile.command,
    result: profile.result,
    timeoutS: profile.timeout_s ?? defaultTimeoutS,
    network: profile.network,
    env: profile.env,
    secrets: profile.secrets.map((secret) => ({ name: secret.name, from: secret.from })),
  }));
  if (configured.some((profile) => profile.name === SHELL_PROFILE)) return configured;
  return [
    {
      name: SHELL_PROFILE,
      description: "The task is a shell script, run by /bin/sh -lc in /work.",
      image: defaultImage,
      command: ["/bin/sh", "-lc", "{task}"],
      result: "file",
      timeoutS: defaultTimeoutS,
      network: true,
      env: {},
      secrets: [],
    },
    ...configured,
  ];
}
