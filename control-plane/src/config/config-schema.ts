import { isAbsolute, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ENV, type EnvName } from "./config-env.js";

/** What the reference (docs/configuration.md), the init template and problem messages know about one key. */
export interface KeyMeta {
  description: string;
  /** The DEVHATCHERY_* variable that overrides this key. */
  env?: EnvName;
  /** How to fix a bad value; appended to every problem reported for this key. */
  hint?: string;
  /** The default when it is computed at start-up rather than fixed. */
  defaultText?: string;
  /** An example value for keys without a default (commented out in the template). */
  example?: unknown;
}

/** Mount aliases: lower-case letters, digits, "_" and "-", starting with a letter or digit. */
export const MOUNT_ALIAS_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const DEFAULT_EXPORT_MAX_BYTES = 5 * 1024 * 1024 * 1024;
export const BEARER_TOKEN_MIN_LENGTH = 16;
/** A control plane's instance name (label io.devhatchery.instance). */
export const INSTANCE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,31}$/;
export const PRINCIPAL_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$/;
/** Policy names: lower-case letters, digits, "_" and "-". */
export const POLICY_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** The policies every server has: "unrestricted" (only the server-wide limits apply) and "deny" (nobody gets in). */
export const BUILT_IN_POLICIES = ["unrestricted", "deny"] as const;
/** JWS algorithms an access token may be signed with: asymmetric only (no "none", no HMAC with a public key). */
export const JWT_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
export const AUDIT_STREAMS = ["stderr", "stdout", "off"] as const;
/** images.pull: when the engine may pull a runner's image. */
export const IMAGE_PULL_POLICIES = ["always", "missing", "never"] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The agent bundle beside a built (or source) control plane in this repository: runner-agent/dist/agent.cjs. */
export const DEFAULT_AGENT_BUNDLE = fileURLToPath(new URL("../../../runner-agent/dist/agent.cjs", import.meta.url));

function key<T extends z.ZodType>(schema: T, meta: KeyMeta): T {
  return schema.meta({ ...meta });
}

function section<T extends z.ZodRawShape>(description: string, shape: T) {
  // Every key of a section has a default, so an absent section is an empty one.
  return z
    .strictObject(shape)
    .prefault({} as never)
    .meta({ description });
}

const absolutePath = z.string().refine(isAbsolute, "must be an absolute path");
const imageName = z.string().regex(/^\S+$/, "must be an image reference without spaces, e.g. ubuntu:24.04");
const hostFolder = z
  .string()
  .refine(
    (path) => isAbsolute(path) && normalize(path) === path && !path.endsWith("/"),
    'must be an absolute, normalized folder other than "/", e.g. /srv/data',
  );
const millis = (min: number, max: number) => z.number().int().min(min).max(max);
const cpus = z.number().positive().max(1024);
const memoryMb = z.number().int().min(64).max(1_048_576);
const pids = z.number().int().min(32).max(1_000_000);
/** The values of quotas.* and of a policy's quota_* keys. */
const quotaValue = {
  runningRunners: z.number().int().min(0).max(100_000).optional(),
  cpus: z.number().min(0).max(100_000).optional(),
  memoryMb: z.number().int().min(0).max(1_073_741_824).optional(),
  snapshots: z.number().int().min(0).max(100_000).optional(),
  workspaceDiskMb: z.number().int().min(0).max(1_073_741_824).optional(),
  snapshotMb: z.number().int().min(0).max(1_073_741_824).optional(),
  exportMb: z.number().int().min(0).max(1_073_741_824).optional(),
};
const idleSeconds = z
  .number()
  .int()
  .min(0)
  .max(30 * 24 * 3600)
  .optional();

/** A lifecycle.*_retention_s or lifetime: 0 (never) up to a year. */
const retentionSeconds = z
  .number()
  .int()
  .min(0)
  .max(366 * 24 * 3600)
  .default(0);

const groupName = z.string().min(1).max(256);
const httpUrl = (example: string) => z.url({ protocol: /^https?$/, error: `must be an http(s) URL, e.g. ${example}` });

const tokenEntry = z.strictObject({
  principal: key(z.string().regex(PRINCIPAL_PATTERN, 'must be 1-64 letters, digits, ".", "_", "@" or "-"'), {
    description: "Who this token authenticates as; runners, exports and tasks belong to a principal.",
    example: "alice",
  }),
  token: key(z.string().min(BEARER_TOKEN_MIN_LENGTH).optional(), {
    description: "The token in plain text (prefer token_sha256 or token_file).",
    hint: "generate one with `openssl rand -hex 32`",
  }),
  token_file: key(absolutePath.optional(), {
    description:
      "An absolute path of a file holding the token (surrounding whitespace ignored), e.g. a mounted secret.",
  }),
  token_sha256: key(
    z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
      .optional(),
    {
      description: 'The SHA-256 of the token in hex, so the file holds no secret: `printf %s "$TOKEN" | sha256sum`.',
    },
  ),
  groups: key(z.array(groupName).default([]), {
    description: "Groups of this principal, matched by policies' groups like the groups of an OIDC token.",
  }),
});

const oidcSection = section("OpenID Connect: validate access tokens issued by an OpenID Provider (auth.mode oidc).", {
  issuer: key(httpUrl("https://id.example.com/realms/dev").optional(), {
    description:
      "The issuer URL; its metadata is found by OIDC discovery (/.well-known/openid-configuration) or RFC 8414 (/.well-known/oauth-authorization-server), and tokens must carry it as iss.",
    env: ENV.oidcIssuer,
    example: "https://id.example.com/realms/dev",
  }),
  audience: key(z.string().min(1).optional(), {
    description:
      "The audience (aud) every access token must carry: this server's resource indicator (RFC 8707), usually the public URL of /mcp.",
    env: ENV.oidcAudience,
    example: "https://devhatchery.example.com/mcp",
  }),
  resource: key(httpUrl("https://devhatchery.example.com/mcp").optional(), {
    description:
      "The public URL of /mcp that clients use, published as the resource of the protected-resource metadata (RFC 9728).",
    env: ENV.oidcResource,
    defaultText: "audience, when it is an http(s) URL",
  }),
  scopes: key(
    z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "must be a scope token without spaces or quotes"))
      .default([]),
    {
      description:
        "Scopes every access token must carry (in scope or scp); advertised to clients, which ask for them. Empty requires none.",
      env: ENV.oidcScopes,
    },
  ),
  advertised_scopes: key(
    z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "must be a scope token without spaces or quotes"))
      .optional(),
    {
      description:
        'Scopes named to clients (challenge and metadata) when the provider wants them asked for by another name than tokens carry, e.g. Entra ID: "api://<app id>/devhatchery", carried as "devhatchery" in scp.',
      defaultText: "scopes",
    },
  ),
  principal_claim: key(z.string().min(1).default("sub"), {
    description:
      'The claim that names the principal, e.g. "sub", "email" or "preferred_username" (a dotted path reaches into objects).',
    env: ENV.oidcPrincipalClaim,
  }),
  groups_claim: key(z.string().min(1).default("groups"), {
    description:
      'The claim holding the principal\'s groups (a list or a space-separated string), e.g. "groups", "roles" or "realm_access.roles".',
    env: ENV.oidcGroupsClaim,
  }),
  algorithms: key(
    z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default([...JWT_ALGORITHMS]),
    {
      description: "Signature algorithms accepted; only asymmetric ones exist here (never none or HMAC).",
    },
  ),
  clock_skew_s: key(z.number().int().min(0).max(300).default(30), {
    description: "Seconds of clock difference allowed when checking exp and nbf.",
    env: ENV.oidcClockSkewS,
  }),
  jwks_cooldown_ms: key(millis(0, 3_600_000).default(30_000), {
    description:
      "Least time between two fetches of the issuer's keys: a token with an unknown key id fetches them again (key rotation), at most this often.",
    env: ENV.oidcJwksCooldownMs,
  }),
  jwks_max_age_ms: key(millis(1000, 86_400_000).default(600_000), {
    description: "How long fetched keys are used before they are fetched again.",
  }),
  http_timeout_ms: key(millis(100, 60_000).default(5000), {
    description: "Timeout of each request to the provider (discovery, keys, introspection).",
  }),
  introspection_client_id: key(z.string().min(1).optional(), {
    description:
      "Client id for RFC 7662 token introspection; set it (with introspection_secret_file) to accept opaque access tokens. Without it only JWT access tokens are accepted.",
    env: ENV.oidcIntrospectionClientId,
  }),
  introspection_secret_file: key(absolutePath.optional(), {
    description:
      "An absolute path of a file holding the introspection client's secret (surrounding whitespace ignored).",
    env: ENV.oidcIntrospectionSecretFile,
  }),
  introspection_cache_ms: key(millis(0, 3_600_000).default(60_000), {
    description: "How long an introspection answer is reused (never past the token's exp).",
  }),
});

const policyEntry = z.strictObject({
  name: key(z.string().regex(POLICY_NAME_PATTERN, 'must be 1-64 lower-case letters, digits, "_" or "-"'), {
    description:
      'The policy\'s name, used in default_policy and in every POLICY_DENIED ("unrestricted" and "deny" are built in).',
    example: "developers",
  }),
  principals: key(z.array(z.string().min(1)).default([]), {
    description: "Principals this policy applies to (bearer token principals or OIDC principal claims).",
  }),
  groups: key(z.array(groupName).default([]), {
    description: "Groups this policy applies to (from the token's groups claim, or a bearer token's groups).",
  }),
  images: key(z.array(imageName).optional(), {
    description:
      "Image patterns this policy allows, like images.allowed (both must admit an image; a caller's own snapshots are always allowed). Omitted: images.allowed alone decides.",
  }),
  pull: key(z.enum(IMAGE_PULL_POLICIES).optional(), {
    description:
      '"never" lets this policy\'s principals run only images already on the host; "missing" or "always" as images.pull (which "never" there overrides).',
  }),
  max_cpus: key(cpus.optional(), { description: "The most CPUs one runner may ask for (at most limits.max.cpus)." }),
  max_memory_mb: key(memoryMb.optional(), {
    description: "The most memory in MiB one runner may ask for (at most limits.max.memory_mb).",
  }),
  max_pids: key(pids.optional(), {
    description: "Processes and threads of each runner (at most limits.defaults.pids).",
  }),
  max_runners: key(z.number().int().min(0).max(10_000).optional(), {
    description: "Runners one principal may have at once (at most limits.max_runners_per_principal).",
  }),
  mounts: key(
    z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}(:(ro|rw))?$/, 'must be "alias", "alias:ro" or "alias:rw"'))
      .optional(),
    {
      description:
        'Allowed roots this policy may mount, as "alias" (the root\'s own mode) or "alias:ro" (read-only even where the root allows rw). Omitted: every allowed root; empty: none.',
    },
  ),
  network: key(z.boolean().optional(), {
    description:
      "false: runners of this policy never get a network (runner_spawn network defaults to false and true is refused).",
  }),
  idle_stop_after_s: key(idleSeconds, {
    description:
      "Seconds a runner of this policy's principals may sit idle before lifecycle.idle_action applies (0: never); overrides lifecycle.idle_stop_after_s.",
  }),
  quota_running_runners: key(quotaValue.runningRunners, {
    description: "Quota of this policy, within quotas.running_runners: runners running, paused or starting at once.",
  }),
  quota_cpus: key(quotaValue.cpus, {
    description: "Quota of this policy, within quotas.cpus: CPUs of running and starting runners together.",
  }),
  quota_memory_mb: key(quotaValue.memoryMb, {
    description:
      "Quota of this policy, within quotas.memory_mb: memory of running, paused and starting runners together.",
  }),
  quota_snapshots: key(quotaValue.snapshots, {
    description: "Quota of this policy, within quotas.snapshots: snapshots kept.",
  }),
  quota_workspace_disk_mb: key(quotaValue.workspaceDiskMb, {
    description: "Quota of this policy, within quotas.workspace_disk_mb: MiB of workspace volumes, as measured.",
  }),
  quota_snapshot_mb: key(quotaValue.snapshotMb, {
    description: "Quota of this policy, within quotas.snapshot_mb: MiB the snapshots add over their source images.",
  }),
  quota_export_mb: key(quotaValue.exportMb, {
    description: "Quota of this policy, within quotas.export_mb: MiB of exports in the export root.",
  }),
  tools: key(z.array(z.string().min(1)).default(["all"]), {
    description:
      'Tools this policy may call: tool names and sets ("read", "exec", "write", "lifecycle", "export", or "all"). A read-only role is ["read"].',
  }),
});

const allowedRoot = z.strictObject({
  alias: key(
    z
      .string()
      .regex(
        MOUNT_ALIAS_PATTERN,
        'must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter or digit',
      ),
    {
      description: "The name runners use to mount the folder (under /export/<alias>).",
      example: "data",
    },
  ),
  path: key(hostFolder, { description: "The host folder.", example: "/srv/data" }),
  mode: key(z.enum(["ro", "rw"]).default("ro"), {
    description:
      '"rw" lets a runner ask for read-write (and exports may write into it); mounts are read-only unless asked.',
  }),
});

/** Job profile and operator secret names: lower-case letters, digits, "_" and "-". */
export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** What a job profile's command may say in braces. */
/** The built-in job profile. */
export const SHELL_PROFILE = "shell";
export const JOB_PLACEHOLDERS = ["task", "task_file", "result_file", "secrets_dir", "work", "job_id"] as const;
const JOB_NAME_RULE = 'must be 1-64 lower-case letters, digits, "_" or "-", starting with a letter or digit';

const jobSecretEntry = z.strictObject({
  name: key(z.string().regex(JOB_NAME_PATTERN, JOB_NAME_RULE), {
    description: "The name jobs and profiles refer to it by (`{ref: <name>}` in job_run, `from` in a profile).",
    example: "anthropic",
  }),
  file: key(absolutePath, {
    description:
      "The file holding the value (read at each job, so rotating it needs no restart; surrounding whitespace is trimmed). Keep it readable by the control plane only.",
    example: "/etc/devhatchery/secrets/anthropic-api-key",
  }),
  principals: key(z.array(z.string().min(1)).min(1), {
    description:
      'Principals (ids) or groups ("group:<name>") whose jobs may use it; "*" for everyone. Nobody else can, not even by name.',
    example: ["*"],
  }),
});

const jobProfileEntry = z.strictObject({
  name: key(z.string().regex(JOB_NAME_PATTERN, JOB_NAME_RULE), {
    description:
      'What job_run\'s `profile` names, e.g. "claude-code". A profile named "shell" replaces the built-in one.',
    example: "claude-code",
  }),
  description: key(z.string().max(500).optional(), { description: "One line for people (system_status lists it)." }),
  image: key(imageName.optional(), {
    description: "The image its jobs run in (it needs git for jobs with a repository); a job may name another one.",
    defaultText: "images.default",
  }),
  command: key(z.array(z.string().min(1)).min(1), {
    description:
      "The agent's command line as a program and its arguments (no shell), run in /work. Placeholders: {task} (the task text), {task_file}, {result_file}, {secrets_dir}, {work}, {job_id}; the same values are in DEVHATCHERY_TASK_FILE, DEVHATCHERY_RESULT_FILE, DEVHATCHERY_SECRETS_DIR and DEVHATCHERY_JOB_ID.",
    example: ["devhatchery-claude-job"],
  }),
  result: key(z.enum(["file", "stdout_json", "none"]).default("file"), {
    description:
      '"file": the agent writes JSON to {result_file} (/work/.devhatchery/result.json); "stdout_json": its standard output ends with a JSON document (e.g. claude -p --output-format json); "none".',
  }),
  timeout_s: key(z.number().int().min(1).max(604_800).optional(), {
    description: "Its jobs' default timeout (job_run's timeout_s wins, up to jobs.max_timeout_s).",
    defaultText: "jobs.default_timeout_s",
  }),
  network: key(z.boolean().default(true), {
    description: "Whether its jobs have outbound network by default (needed to clone and to reach a model's API).",
  }),
  env: key(z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}), {
    description: "Environment of its jobs (never secrets: those go in `secrets`).",
  }),
  secrets: key(
    z
      .array(
        z.strictObject({
          name: z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/, "must be upper-case letters, digits and _"),
          from: z.string().regex(JOB_NAME_PATTERN, JOB_NAME_RULE).optional(),
        }),
      )
      .default([]),
    {
      description:
        "Secrets its jobs need, as files in {secrets_dir}: with `from`, the operator secret of that name supplies it; without, every job_run must pass it.",
      example: [{ name: "ANTHROPIC_API_KEY", from: "anthropic" }],
    },
  ),
});

/** A warm pool's name: it appears in metrics, labels and the owner `pool:<name>` of its unclaimed runners. */
export const POOL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const poolEntry = z.strictObject({
  name: key(
    z
      .string()
      .regex(POOL_NAME_PATTERN, 'must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter or digit'),
    {
      description: "The pool's name (metrics, system_status, devhatchery plan).",
      example: "default",
    },
  ),
  image: key(imageName.optional(), {
    description: "The image its runners run; a runner_spawn for this image (after defaults) can claim one.",
    defaultText: "images.default",
  }),
  profile: key(z.enum(["default", "hardened"]).optional(), {
    description: "The isolation profile of its runners; claims must ask for the same (after defaults).",
    defaultText: "runners.profile",
  }),
  storage: key(z.enum(["tmpfs", "volume"]).default("tmpfs"), {
    description:
      '/work of its runners: "tmpfs" is the only kind pooled for now ("volume" is refused with the reason). A spawn with storage "volume" (the default) and every runner_attach of a workspace start cold (pooled: false).',
  }),
  network: key(z.boolean().default(true), {
    description: "Whether its runners have outbound network access; claims must ask for the same.",
  }),
  cpus: key(cpus.optional(), {
    description:
      "The CPUs its runners are created with: the most a claim may ask for (the claim's own limit is applied).",
    defaultText: "limits.defaults.cpus",
  }),
  memory_mb: key(memoryMb.optional(), {
    description:
      "The memory its runners are created with: the most a claim may ask for (the claim's own limit is applied).",
    defaultText: "limits.defaults.memory_mb",
  }),
  min: key(z.number().int().min(0).max(1000).default(1), {
    description: "Ready runners the pool keeps; it refills in the background after every claim.",
  }),
  max: key(z.number().int().min(1).max(1000).optional(), {
    description:
      "The most runners it holds: after misses (claims that found it empty) it grows towards max, one per miss.",
    defaultText: "min (at least 1)",
  }),
  idle_shrink_after_s: key(
    z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(600),
    {
      description: "Seconds without a claim after which a pool that grew past min shrinks back to min (0: never).",
    },
  ),
});

const limitSet = (
  description: string,
  defaults: { cpus: number; memoryMb: number; pids: number },
  env: { cpus: EnvName; memoryMb: EnvName; pids: EnvName },
  pidsDescription: string,
) =>
  section(description, {
    cpus: key(cpus.default(defaults.cpus), { description: "CPUs (fractions allowed).", env: env.cpus }),
    memory_mb: key(memoryMb.default(defaults.memoryMb), { description: "Memory in MiB (no swap).", env: env.memoryMb }),
    pids: key(pids.default(defaults.pids), { description: pidsDescription, env: env.pids }),
  });

/** devhatchery.yaml: every key, its default, its DEVHATCHERY_* override and what it means. Unknown keys are errors. */
export const configFileSchema = z.strictObject({
  listen: section("Where the MCP endpoint listens.", {
    host: key(z.string().min(1).default("127.0.0.1"), {
      description: "Address to bind; anything but loopback requires auth (bearer or oidc).",
      env: ENV.listenHost,
    }),
    port: key(z.number().int().min(0).max(65535).default(8080), {
      description: "Port; 0 picks a free one and logs it.",
      env: ENV.listenPort,
    }),
  }),
  auth: section("Who may call the control plane.", {
    mode: key(z.enum(["none", "bearer", "oidc"]).optional(), {
      description:
        '"none" (loopback only, one local principal), "bearer" (tokens below) or "oidc" (access tokens from an OpenID Provider, see auth.oidc; the tokens below keep working beside them).',
      env: ENV.authMode,
      defaultText: "bearer when tokens are listed, else none",
    }),
    tokens: key(z.array(tokenEntry).default([]), {
      description: "Bearer tokens, each mapped to a principal; give exactly one of token, token_file or token_sha256.",
      env: ENV.bearerTokens,
      hint: "each entry needs a principal and one of token, token_file or token_sha256",
    }),
    allowed_hosts: key(z.array(z.string().min(1)).default([]), {
      description:
        "Host names (without the port) accepted on /mcp, /metrics and /runners besides loopback names and the listen address (DNS-rebinding guard); when empty, a non-loopback bind accepts any host.",
      env: ENV.allowedHosts,
    }),
    allowed_origins: key(z.array(z.string().min(1)).default([]), {
      description: "Extra browser Origin values accepted on /mcp.",
      env: ENV.allowedOrigins,
    }),
    oidc: oidcSection,
  }),
  policies: key(z.array(policyEntry).default([]), {
    description:
      "Named policies, each assigned to principals and groups; a caller gets the first policy that names them or one of their groups, else default_policy. A policy only narrows the server-wide limits.",
  }),
  default_policy: key(z.string().regex(POLICY_NAME_PATTERN, "must be a policy name").optional(), {
    description:
      'The policy of a caller no policy names: one of policies, "unrestricted" (the server-wide limits) or "deny" (refused). Required with auth.mode oidc.',
    env: ENV.defaultPolicy,
    defaultText: '"unrestricted" unless auth.mode is oidc',
  }),
  images: section("Runner images.", {
    default: key(imageName.default("ubuntu:24.04"), {
      description: "Image for runner_spawn without an image.",
      env: ENV.defaultImage,
    }),
    prepull: key(z.array(imageName).default([]), {
      description: "Images pulled in the background at start-up (readiness does not wait).",
      env: ENV.prepull,
    }),
    allowed: key(z.array(imageName).default([]), {
      description:
        'Image patterns runners may use ("*" matches anything, e.g. "devhatchery/*"), matched against the name as given and normalised ("ubuntu:24.04" is also "docker.io/library/ubuntu:24.04"); a pattern with "@sha256:<digest>" admits a tag only while it resolves to that digest. Empty allows any image.',
      env: ENV.allowedImages,
    }),
    pull: key(z.enum(IMAGE_PULL_POLICIES).default("missing"), {
      description:
        '"missing" pulls an image a runner needs when it is not on the Docker host, "always" pulls it before every spawn (a moved tag is followed), "never" runs only images already there.',
      env: ENV.imagePull,
    }),
    registries: key(
      z
        .array(
          z
            .string()
            .regex(
              /^[a-zA-Z0-9.-]+(:[0-9]+)?$/,
              "must be a registry host, e.g. docker.io or registry.example.com:5000",
            ),
        )
        .optional(),
      {
        description:
          "Registry hosts images may come from (an image without a host is from docker.io); a reference naming any other host is refused before anything is pulled.",
        env: ENV.imageRegistries,
        defaultText: "docker.io and the registries of images.default and images.prepull",
      },
    ),
    allow_id_references: key(z.boolean().default(false), {
      description:
        'Accept image ids and id prefixes ("9196", "sha256:…") as runner images; off, only names (repository and tag or digest) are accepted.',
      env: ENV.allowIdReferences,
    }),
  }),
  runners: section("How runners are created.", {
    network: key(
      z
        .string()
        .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a Docker network name")
        .default("devhatchery-runners"),
      {
        description:
          "Private bridge network for runners (created, inter-container traffic off); <network>-offline serves runners without network.",
        env: ENV.runnerNetwork,
      },
    ),
    ready_timeout_ms: key(millis(1000, 600_000).default(30_000), {
      description: "How long a new runner's agent has to answer its health check.",
      env: ENV.readyTimeoutMs,
    }),
    profile: key(z.enum(["default", "hardened"]).default("default"), {
      description: 'Minimum isolation profile; "hardened" makes every runner hardened.',
      env: ENV.profile,
    }),
  }),
  limits: section("Runner limits.", {
    defaults: limitSet(
      "What a spawn gets when it asks for nothing.",
      { cpus: 2, memoryMb: 2048, pids: 4096 },
      { cpus: ENV.defaultCpus, memoryMb: ENV.defaultMemoryMb, pids: ENV.defaultPids },
      "Processes and threads of every runner (runner_spawn has no pids argument), capped by limits.max.pids.",
    ),
    max: limitSet(
      "The most a spawn may ask for (cpus, memory_mb); pids caps the default, which every runner gets.",
      { cpus: 4, memoryMb: 8192, pids: 16384 },
      { cpus: ENV.maxCpus, memoryMb: ENV.maxMemoryMb, pids: ENV.maxPids },
      "Caps limits.defaults.pids; runner_spawn cannot ask for pids.",
    ),
    max_runners_per_principal: key(z.number().int().min(1).max(10_000).default(50), {
      description: "Runners (any status) one principal may have at once.",
      env: ENV.maxRunners,
    }),
    tmpfs_mb: key(z.number().int().min(16).max(1_048_576).default(1024), {
      description:
        'Size of /work for storage "tmpfs", at most the runner\'s memory_mb minus 96 MiB kept for the agent (tmpfs pages count as memory).',
      env: ENV.tmpfsMb,
    }),
    exec_output_mb: key(z.number().int().min(1).max(1_048_576).default(1024), {
      description:
        "Exec output one runner keeps on its disk for all its processes together; past it the oldest finished exec's output goes first (exec_read reports it as dropped_bytes).",
      env: ENV.execOutputMb,
    }),
  }),
  pools: key(z.array(poolEntry).default([]), {
    description:
      "Warm pools: runners created ready before anyone asks. A runner_spawn whose image, profile, storage (tmpfs) and network match a pool, within its cpus and memory_mb, and with no mounts, claims one in milliseconds; attaching a workspace always starts cold.",
  }),
  apt_cache: section(
    "A cache for runners' apt downloads, served by the control plane on each runner network's gateway address.",
    {
      enabled: key(z.boolean().default(true), {
        description:
          "Runners of the default profile with outbound network (Debian or Ubuntu images) download packages through the cache: a package a runner fetched once is served from the control plane's disk to every later runner. Shared by all principals (apt checks every file against the repository's signed index, and only repositories fill it). Hardened runners cannot run apt (non-root, read-only root) and are left alone.",
        env: ENV.aptCache,
      }),
      port: key(z.number().int().min(0).max(65535).default(3142), {
        description:
          "Port on each runner network's gateway address (0: any free one). Keep it closed to other hosts: it is reachable from runners only as long as nothing else listens there.",
        env: ENV.aptCachePort,
      }),
      max_mb: key(z.number().int().min(16).max(1_048_576).default(4096), {
        description: "MiB the cache keeps on disk (<state dir>/apt-cache); the least recently used files go first.",
        env: ENV.aptCacheMaxMb,
      }),
      index_ttl_s: key(z.number().int().min(0).max(86_400).default(300), {
        description:
          "Seconds Release and package index files are served from the cache before they are fetched again (package files are kept until evicted: their names are versions).",
      }),
    },
  ),
  jobs: section("One-shot agent jobs (job_run): a runner per job, removed when it ends.", {
    max_concurrent: key(z.number().int().min(1).max(1000).default(4), {
      description:
        "Jobs running at once on this control plane; later ones wait in a queue (job_get shows the position).",
    }),
    max_queued: key(z.number().int().min(0).max(100_000).default(100), {
      description: "Jobs waiting at once; job_run is refused beyond it.",
    }),
    default_timeout_s: key(z.number().int().min(1).max(604_800).default(300), {
      description:
        "A job's timeout when neither job_run nor its profile says: the agent is killed and the job ends timed_out.",
    }),
    max_timeout_s: key(z.number().int().min(1).max(604_800).default(3600), {
      description: "The longest timeout a job_run may ask for.",
    }),
    keep_for_s: key(z.number().int().min(1).max(604_800).default(600), {
      description: "How long the runner of a job run with keep: true stays for inspection after the job ends.",
    }),
    output_max_mb: key(z.number().int().min(1).max(65_536).default(64), {
      description:
        "Output kept per job on the control plane's disk (<state dir>/jobs) for job_get; past it the output is cut (the tail is always kept).",
    }),
    retention_s: key(z.number().int().min(60).max(31_536_000).default(604_800), {
      description: "How long an ended job (its record and output) is kept for job_get and job_list.",
    }),
    secrets: key(z.array(jobSecretEntry).default([]), {
      description: "Secrets the operator keeps for jobs (for example a model API key), delivered to jobs as files.",
    }),
    profiles: key(z.array(jobProfileEntry).default([]), {
      description:
        'How jobs start an agent. "shell" is built in (the task is a shell script run by /bin/sh -lc in the default image).',
    }),
  }),
  allowed_roots: key(z.array(allowedRoot).default([]), {
    description: "Host folders runners may mount by alias, read-only unless the mode is rw and the caller asks for rw.",
    env: ENV.allowedRoots,
  }),
  exports: section("Where export_create writes.", {
    root: key(absolutePath.optional(), {
      description: "A folder per principal, plus .staging.",
      env: ENV.exportRoot,
      defaultText: "$XDG_STATE_HOME/devhatchery/exports or ~/.local/state/devhatchery/exports",
    }),
    max_bytes: key(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_EXPORT_MAX_BYTES), {
      description: "The most bytes (uncompressed tar) one export may hold.",
      env: ENV.exportMaxBytes,
    }),
  }),
  state: section("The state store.", {
    dir: key(absolutePath.optional(), {
      description: "Folder of state.db (idempotency keys, spawns in flight, activity, tasks).",
      env: ENV.stateDir,
      defaultText: "$XDG_STATE_HOME/devhatchery or ~/.local/state/devhatchery",
    }),
    instance: key(z.string().regex(INSTANCE_PATTERN, 'must be 1-32 letters, digits, ".", "_" or "-"').optional(), {
      description:
        "Label (io.devhatchery.instance) on every container, volume, network and snapshot this control plane creates; it sees only objects with its own.",
      env: ENV.instance,
      defaultText: "the first 12 hex digits of the SHA-256 of the state folder's absolute path",
    }),
    unlabelled_objects: key(z.enum(["ignore", "adopt"]).default("ignore"), {
      description:
        'Objects made by a version without instance labels: "adopt" serves them as this instance\'s (set it on one control plane only).',
      env: ENV.unlabelledObjects,
    }),
  }),
  docker: section("The Docker engine.", {
    host: key(
      z
        .string()
        .regex(
          /^(unix|tcp|http|https):\/\/\S+$/,
          "must be a URL like unix:///var/run/docker.sock or tcp://127.0.0.1:2375",
        )
        .optional(),
      {
        description: "Docker endpoint: unix:///path or tcp://host:port.",
        env: ENV.dockerHost,
        defaultText: "Docker's default (DOCKER_HOST or the local socket)",
      },
    ),
  }),
  log: section("Logs.", {
    level: key(z.enum(LOG_LEVELS).default("info"), {
      description: "pino level of the JSON log on stdout.",
      env: ENV.logLevel,
    }),
    audit: key(
      z
        .string()
        .refine(
          (value) => (AUDIT_STREAMS as readonly string[]).includes(value) || isAbsolute(value),
          'must be "stderr", "stdout", "off" or an absolute file path',
        )
        .default("off"),
      {
        description: "Audit log (JSON lines): stderr, stdout, an absolute file path, or off.",
        env: ENV.auditLog,
      },
    ),
  }),
  telemetry: section("Traces.", {
    otlp_endpoint: key(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(), {
      description: "OTLP/HTTP traces endpoint; tracing is off without one.",
      env: ENV.otlpEndpoint,
      example: "http://127.0.0.1:4318/v1/traces",
    }),
  }),
  sessions: section("MCP sessions.", {
    idle_timeout_ms: key(millis(1000, 7 * 24 * 60 * 60 * 1000).default(30 * 60 * 1000), {
      description: "A session with no request and no open stream for this long is closed.",
      env: ENV.sessionIdleTimeoutMs,
    }),
    // Input bounds: memory stays bounded whatever a client sends.
    max_body_bytes: key(
      z
        .number()
        .int()
        .min(64 * 1024)
        .max(1024 * 1024 * 1024)
        .default(24 * 1024 * 1024),
      {
        description:
          "The largest request body /mcp accepts; a longer one is answered 413 before it is parsed. The default holds the largest fs_write (16 MiB, base64).",
        env: ENV.maxBodyBytes,
      },
    ),
    max_per_principal: key(z.number().int().min(1).max(100_000).default(64), {
      description:
        "Open MCP sessions per principal; one more closes the principal's least recently used session without an open stream, or is refused.",
      env: ENV.maxSessionsPerPrincipal,
    }),
    max_subscriptions: key(z.number().int().min(1).max(100_000).default(256), {
      description: "Resource subscriptions one session may hold.",
      env: ENV.maxSubscriptions,
    }),
    max_watches: key(z.number().int().min(1).max(100_000).default(64), {
      description:
        "Watches (fs_watch) one session may keep open; a watch counts until it has gone 10 minutes without fs_changes calls.",
      env: ENV.maxWatches,
    }),
  }),
  lifecycle: section("What happens to runners nobody uses.", {
    idle_stop_after_s: key(idleSeconds, {
      description:
        "Seconds a runner may sit idle before idle_action applies; 0 turns it off. Idle means no call named it, no process runs in it besides its agent (background and nohup processes count), and no watch or subscription is open on it. The next call naming the runner starts it again.",
      env: ENV.idleStopAfterS,
      defaultText: "0 (off) with auth none; 1800 with bearer or oidc",
    }),
    idle_action: key(z.enum(["stop", "pause"]).default("stop"), {
      description:
        '"stop" stops an idle runner (memory freed, /work kept), "pause" freezes its processes (memory kept, no CPU).',
      env: ENV.idleAction,
    }),
    idle_check_interval_s: key(z.number().int().min(1).max(3600).default(30), {
      description: "How often runners are checked for idleness.",
      env: ENV.idleCheckIntervalS,
    }),
    runner_max_lifetime_s: key(retentionSeconds, {
      description:
        "Seconds after its creation a runner is removed, running or not (0: never). Its workspace volume stays, under workspace_retention_s; attached sessions are warned retention_warning_s ahead.",
      env: ENV.runnerMaxLifetimeS,
    }),
    workspace_retention_s: key(retentionSeconds, {
      description:
        "Seconds after its last use a workspace volume no runner mounts is deleted (0: never). A workspace a runner mounts, even a stopped one, is never deleted.",
      env: ENV.workspaceRetentionS,
    }),
    snapshot_retention_s: key(retentionSeconds, {
      description:
        "Seconds after its creation a snapshot is deleted (0: never); one a runner was spawned from is kept while that runner exists.",
      env: ENV.snapshotRetentionS,
    }),
    export_retention_s: key(retentionSeconds, {
      description:
        "Seconds after its creation an export in the export root (archive or folder, with its manifest) is deleted (0: never). Exports written into a runner's mount are the owner's and never deleted.",
      env: ENV.exportRetentionS,
    }),
    retention_warning_s: key(
      z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 3600)
        .default(600),
      {
        description:
          "How long before a runner, workspace, snapshot or export is deleted for its age its owner's connected sessions get a warning (an MCP log message).",
        env: ENV.retentionWarningS,
      },
    ),
    gc_interval_s: key(
      z
        .number()
        .int()
        .min(1)
        .max(24 * 3600)
        .default(300),
      {
        description:
          "How often garbage is collected: expired runners, workspaces, snapshots and exports, agent volumes of other agent versions, dangling helper containers (and pulled images with gc_images).",
        env: ENV.gcIntervalS,
      },
    ),
    gc_images: key(z.boolean().default(false), {
      description:
        "Also remove images this control plane pulled for runners once no container uses them (never images.default nor images.prepull).",
      env: ENV.gcImages,
    }),
  }),
  quotas: section("What one principal may hold at once (unset: no quota); a policy's quota_* keys narrow these.", {
    running_runners: key(quotaValue.runningRunners, {
      description: "Runners one principal may have running, paused or starting at once.",
      env: ENV.quotaRunningRunners,
    }),
    cpus: key(quotaValue.cpus, {
      description: "CPUs of one principal's running and starting runners together (paused runners use none).",
      env: ENV.quotaCpus,
    }),
    memory_mb: key(quotaValue.memoryMb, {
      description: "Memory in MiB of one principal's running, paused and starting runners together.",
      env: ENV.quotaMemoryMb,
    }),
    snapshots: key(quotaValue.snapshots, {
      description: "Snapshots one principal may keep.",
      env: ENV.quotaSnapshots,
    }),
    workspace_disk_mb: key(quotaValue.workspaceDiskMb, {
      description:
        "MiB of one principal's workspace volumes, as the engine measures them (docker system df; a measurement is reused for up to 30 s unless a call reached one of the principal's runners, and a refusal always measures again). Writes cannot be refused on local volumes: at or over it, spawns and starts of stopped runners are refused until the principal frees space.",
      env: ENV.quotaWorkspaceDiskMb,
    }),
    snapshot_mb: key(quotaValue.snapshotMb, {
      description:
        "MiB one principal's snapshots add over the images they were taken from (each snapshot's own layer). snapshot_create is refused at or over it, and a new snapshot that would take the principal past it is removed again.",
      env: ENV.quotaSnapshotMb,
    }),
    export_mb: key(quotaValue.exportMb, {
      description:
        "MiB of one principal's exports in the export root (the bytes_written of their manifests). export_create to the export root is refused at or over it, and stopped with nothing written when it would go past; exports into a runner's mount do not count.",
      env: ENV.quotaExportMb,
    }),
  }),
  shutdown: section("Graceful shutdown.", {
    grace_ms: key(millis(0, 600_000).default(10_000), {
      description: "How long open streams may finish after SIGTERM before they are cut.",
      env: ENV.shutdownGraceMs,
    }),
  }),
  agent: section("The agent injected into images that do not carry it.", {
    bundle: key(absolutePath.default(DEFAULT_AGENT_BUNDLE), {
      description: "The agent bundle (agent.cjs).",
      env: ENV.agentBundle,
      defaultText: "runner-agent/dist/agent.cjs beside the control plane",
    }),
    cache_dir: key(absolutePath.optional(), {
      description: "Where the agent's Node runtimes are cached.",
      env: ENV.cacheDir,
      defaultText: "$XDG_CACHE_HOME/devhatchery or ~/.cache/devhatchery",
    }),
  }),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
