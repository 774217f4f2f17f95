import { readFileSync } from "node:fs";
import type { z } from "zod";
import { closestName } from "./closest-name.js";
import { ENV } from "./config-env.js";
import { BUILT_IN_POLICIES, JOB_PLACEHOLDERS } from "./config-schema.js";
import { ALL_TOOLS, KNOWN_TOOLS, TOOL_SETS } from "./tool-sets.js";
import { imageAdmission } from "./image-pattern.js";
import { registryOf } from "./image-reference.js";
import { isLoopbackHost } from "./loopback-host.js";
import { configFileSchema, type ConfigFile } from "./config-schema.js";
import { CROSS_CHECK } from "./issue-problems.js";
import { tokenDigest, type TokenSource } from "./token-source.js";

type Issue = (path: Array<string | number>, message: string) => void;

/** Each value as parsed so far: checks run even when other keys are invalid, so every problem shows at once. */
function entries<T>(value: unknown): Array<T | undefined> {
  return Array.isArray(value)
    ? value.map((item) => (typeof item === "object" && item !== null ? (item as T) : undefined))
    : [];
}

function checkAuth(config: ConfigFile, issue: Issue): void {
  const tokens = entries<TokenSource & { principal?: unknown }>(config.auth?.tokens);
  const seen = new Map<string, number>();
  tokens.forEach((entry, index) => {
    if (!entry) return;
    const result = tokenDigest(entry);
    if ("problem" in result)
      return issue(["auth", "tokens", index, ...(result.key ? [result.key] : [])], result.problem);
    const first = seen.get(result.sha256);
    if (first !== undefined)
      issue(["auth", "tokens", index], `repeats the token of entry ${first}; give every principal its own token`);
    else seen.set(result.sha256, index);
  });
  const host = config.listen?.host;
  const mode = config.auth?.mode ?? (tokens.length > 0 ? "bearer" : "none");
  if (mode === "none" && typeof host === "string" && !isLoopbackHost(host)) {
    issue(
      ["auth", "mode"],
      `"none" is only allowed on a loopback address, not "${host}"; use bearer auth with tokens (auth.mode: bearer and auth.tokens, or DEVHATCHERY_AUTH=bearer with DEVHATCHERY_BEARER_TOKENS), OIDC (auth.mode: oidc, see docs/auth.md), or listen on 127.0.0.1`,
    );
  }
  if (mode === "bearer" && tokens.length === 0) issue(["auth", "tokens"], 'auth "bearer" needs at least one token');
  if (mode === "oidc") checkOidc(config, issue);
}

function checkOidc(config: ConfigFile, issue: Issue): void {
  const oidc = config.auth?.oidc ?? ({} as Partial<ConfigFile["auth"]["oidc"]>);
  const need = (name: "issuer" | "audience", env: string, example: string): void => {
    if (oidc[name] === undefined)
      issue(["auth", "oidc", name], `is required with auth.mode "oidc"; set it (or ${env}), e.g. ${example}`);
  };
  need("issuer", ENV.oidcIssuer, "https://id.example.com/realms/dev");
  need("audience", ENV.oidcAudience, "https://devhatchery.example.com/mcp");
  if (oidc.resource === undefined && typeof oidc.audience === "string" && !/^https?:\/\//.test(oidc.audience)) {
    issue(
      ["auth", "oidc", "resource"],
      `is required when auth.oidc.audience ("${oidc.audience}") is not a URL: set it to the public URL of /mcp that clients use, e.g. https://devhatchery.example.com/mcp`,
    );
  }
  const id = oidc.introspection_client_id;
  const secretFile = oidc.introspection_secret_file;
  if ((id === undefined) !== (secretFile === undefined)) {
    issue(
      ["auth", "oidc", id === undefined ? "introspection_client_id" : "introspection_secret_file"],
      "is needed too: introspection takes both introspection_client_id and introspection_secret_file (or neither, to accept JWT access tokens only)",
    );
  } else if (typeof secretFile === "string") {
    try {
      if (!readFileSync(secretFile, "utf8").trim()) throw Object.assign(new Error("empty"), { code: "EMPTY" });
    } catch (error) {
      issue(
        ["auth", "oidc", "introspection_secret_file"],
        `cannot be read (${(error as NodeJS.ErrnoException).code ?? "unreadable"}); write the client secret into it or fix the path`,
      );
    }
  }
  if (config.default_policy === undefined) {
    issue(
      ["default_policy"],
      `is required with auth.mode "oidc": everyone the provider knows could get in; name the policy of callers no policy names ("deny" to refuse them, "unrestricted", or one of policies), or set ${ENV.defaultPolicy}`,
    );
  }
}

function checkPolicies(config: ConfigFile, issue: Issue): void {
  const policies = entries<Partial<ConfigFile["policies"][number]>>(config.policies);
  const names = new Set<string>();
  const roots = new Map(
    entries<{ alias?: unknown; mode?: unknown }>(config.allowed_roots).flatMap((root) =>
      root && typeof root.alias === "string" ? [[root.alias, root.mode === "rw" ? "rw" : "ro"] as const] : [],
    ),
  );
  const tools = [ALL_TOOLS, ...Object.keys(TOOL_SETS), ...KNOWN_TOOLS];
  policies.forEach((policy, index) => {
    if (!policy || typeof policy.name !== "string") return;
    if ((BUILT_IN_POLICIES as readonly string[]).includes(policy.name))
      issue(["policies", index, "name"], `"${policy.name}" is a built-in policy; give yours another name`);
    else if (names.has(policy.name))
      issue(["policies", index, "name"], `"${policy.name}" is defined twice; give each policy its own name`);
    names.add(policy.name);
    (Array.isArray(policy.tools) ? policy.tools : []).forEach((tool, at) => {
      if (typeof tool !== "string" || tools.includes(tool)) return;
      const near = closestName(tool, tools);
      issue(
        ["policies", index, "tools", at],
        `"${tool}" is neither a tool nor a tool set${near ? `; did you mean "${near}"?` : ""} (sets: ${[ALL_TOOLS, ...Object.keys(TOOL_SETS)].join(", ")})`,
      );
    });
    (Array.isArray(policy.mounts) ? policy.mounts : []).forEach((mount, at) => {
      if (typeof mount !== "string") return;
      const [alias, mode] = mount.split(":");
      const rootMode = roots.get(alias!);
      if (rootMode === undefined)
        issue(
          ["policies", index, "mounts", at],
          `names alias "${alias}", which allowed_roots does not list${roots.size ? ` (aliases: ${[...roots.keys()].join(", ")})` : ""}; add the root or remove the entry`,
        );
      else if (mode === "rw" && rootMode === "ro")
        issue(
          ["policies", index, "mounts", at],
          `asks for rw, but allowed root "${alias}" is read-only; use "${alias}" or "${alias}:ro", or make the root rw`,
        );
    });
  });
  const fallback = config.default_policy;
  if (
    typeof fallback === "string" &&
    !names.has(fallback) &&
    !(BUILT_IN_POLICIES as readonly string[]).includes(fallback)
  ) {
    const known = [...names, ...BUILT_IN_POLICIES];
    issue(
      ["default_policy"],
      `"${fallback}" is not a policy; use one of ${known.map((name) => `"${name}"`).join(", ")}`,
    );
  }
}

function checkLimits(config: ConfigFile, issue: Issue): void {
  const { defaults, max } = config.limits ?? {};
  for (const name of ["cpus", "memory_mb", "pids"] as const) {
    const wanted = defaults?.[name];
    const most = max?.[name];
    if (typeof wanted === "number" && typeof most === "number" && wanted > most) {
      issue(
        ["limits", "defaults", name],
        `is ${wanted}, more than limits.max.${name} (${most}); lower the default or raise the maximum`,
      );
    }
  }
}

function checkImages(config: ConfigFile, issue: Issue): void {
  const registries = Array.isArray(config.images?.registries) ? config.images.registries : undefined;
  const named: Array<[Array<string | number>, unknown]> = [
    [["images", "default"], config.images?.default],
    ...(Array.isArray(config.images?.prepull) ? config.images.prepull : []).map(
      (image, index): [Array<string | number>, unknown] => [["images", "prepull", index], image],
    ),
  ];
  for (const [path, image] of named) {
    const registry = typeof image === "string" ? registryOf(image) : undefined;
    if (registries && registry && !registries.includes(registry))
      issue(
        path,
        `"${image as string}" is from registry "${registry}", which images.registries (${registries.join(", ")}) does not list; add it there or pick another image`,
      );
  }
  const allowed = Array.isArray(config.images?.allowed)
    ? config.images.allowed.filter((pattern) => typeof pattern === "string")
    : [];
  if (allowed.length === 0) return;
  const refuse = (path: Array<string | number>, image: string): void =>
    issue(
      path,
      `"${image}" is not matched by images.allowed (${allowed.join(", ")}); add a pattern for it or pick an allowed image`,
    );
  if (typeof config.images?.default === "string" && imageAdmission(config.images.default, allowed) === "denied")
    refuse(["images", "default"], config.images.default);
  (Array.isArray(config.images?.prepull) ? config.images.prepull : []).forEach((image, index) => {
    if (typeof image === "string" && imageAdmission(image, allowed) === "denied")
      refuse(["images", "prepull", index], image);
  });
}

function checkRoots(config: ConfigFile, issue: Issue): void {
  const aliases = new Set<unknown>();
  entries<{ alias?: unknown }>(config.allowed_roots).forEach((root, index) => {
    if (!root || typeof root.alias !== "string") return;
    if (aliases.has(root.alias))
      issue(["allowed_roots", index, "alias"], `"${root.alias}" is listed twice; give each allowed root its own alias`);
    aliases.add(root.alias);
  });
}

function checkPools(config: ConfigFile, issue: Issue): void {
  const names = new Set<unknown>();
  const maxCpus = config.limits?.max?.cpus;
  const maxMemory = config.limits?.max?.memory_mb;
  const allowed = Array.isArray(config.images?.allowed)
    ? config.images.allowed.filter((pattern) => typeof pattern === "string")
    : [];
  entries<{
    name?: unknown;
    image?: unknown;
    profile?: unknown;
    storage?: unknown;
    cpus?: unknown;
    memory_mb?: unknown;
    min?: unknown;
    max?: unknown;
  }>(config.pools).forEach((pool, index) => {
    if (!pool) return;
    const at = (key: string): Array<string | number> => ["pools", index, key];
    if (typeof pool.name === "string") {
      if (names.has(pool.name)) issue(at("name"), `"${pool.name}" is listed twice; give each pool its own name`);
      names.add(pool.name);
    }
    if (pool.storage === "volume")
      issue(
        at("storage"),
        'must be "tmpfs": a pooled runner\'s /work is mounted before anyone claims it, so it cannot be the claimer\'s workspace volume; spawns with storage "volume" (the default) start cold',
      );
    if (typeof pool.min === "number" && typeof pool.max === "number" && pool.max < pool.min)
      issue(at("max"), `is ${pool.max}, below min (${pool.min}); raise max or lower min`);
    if (typeof pool.cpus === "number" && typeof maxCpus === "number" && pool.cpus > maxCpus)
      issue(at("cpus"), `is ${pool.cpus}, above limits.max.cpus (${maxCpus}); no claim could use it`);
    if (typeof pool.memory_mb === "number" && typeof maxMemory === "number" && pool.memory_mb > maxMemory)
      issue(at("memory_mb"), `is ${pool.memory_mb}, above limits.max.memory_mb (${maxMemory}); no claim could use it`);
    if (pool.profile === "default" && config.runners?.profile === "hardened")
      issue(
        at("profile"),
        'is "default" but runners.profile is "hardened": every runner must be hardened; omit profile or set it to "hardened"',
      );
    if (typeof pool.image === "string" && allowed.length > 0 && imageAdmission(pool.image, allowed) === "denied")
      issue(
        at("image"),
        `"${pool.image}" is not matched by images.allowed (${allowed.join(", ")}); add a pattern for it or pick an allowed image`,
      );
  });
}

/** Job profiles: unique names, known placeholders, `from` naming an operator secret, allowed images. */
function checkJobs(config: ConfigFile, issue: Issue): void {
  const jobs = config.jobs;
  if (!jobs) return;
  const secretNames = new Set<string>();
  entries<{ name?: unknown }>(jobs.secrets).forEach((secret, index) => {
    if (typeof secret?.name !== "string") return;
    if (secretNames.has(secret.name))
      issue(["jobs", "secrets", index, "name"], `"${secret.name}" is listed twice; give each secret its own name`);
    secretNames.add(secret.name);
  });
  const allowed = Array.isArray(config.images?.allowed)
    ? config.images.allowed.filter((pattern) => typeof pattern === "string")
    : [];
  const profileNames = new Set<string>();
  entries<{ name?: unknown; command?: unknown; secrets?: unknown; image?: unknown }>(jobs.profiles).forEach(
    (profile, index) => {
      if (!profile) return;
      const at = (...key: Array<string | number>): Array<string | number> => ["jobs", "profiles", index, ...key];
      if (typeof profile.name === "string") {
        if (profileNames.has(profile.name))
          issue(at("name"), `"${profile.name}" is listed twice; give each profile its own name`);
        profileNames.add(profile.name);
      }
      (Array.isArray(profile.command) ? (profile.command as unknown[]) : []).forEach((word, wordIndex) => {
        if (typeof word !== "string") return;
        for (const [, name] of word.matchAll(/\{([a-z_]+)\}/g)) {
          if (!(JOB_PLACEHOLDERS as readonly string[]).includes(name ?? ""))
            issue(
              at("command", wordIndex),
              `has the unknown placeholder {${name}}; use one of ${JOB_PLACEHOLDERS.map((known) => `{${known}}`).join(", ")}`,
            );
        }
      });
      entries<{ from?: unknown }>(profile.secrets).forEach((secret, secretIndex) => {
        if (typeof secret?.from === "string" && !secretNames.has(secret.from))
          issue(
            at("secrets", secretIndex, "from"),
            `names "${secret.from}", which is not in jobs.secrets; add it there (name and file) or drop from`,
          );
      });
      if (
        typeof profile.image === "string" &&
        allowed.length > 0 &&
        imageAdmission(profile.image, allowed) === "denied"
      )
        issue(
          at("image"),
          `"${profile.image}" is not matched by images.allowed (${allowed.join(", ")}); add a pattern for it or pick an allowed image`,
        );
    },
  );
  if (
    typeof jobs.default_timeout_s === "number" &&
    typeof jobs.max_timeout_s === "number" &&
    jobs.default_timeout_s > jobs.max_timeout_s
  )
    issue(
      ["jobs", "default_timeout_s"],
      `is ${jobs.default_timeout_s}, above jobs.max_timeout_s (${jobs.max_timeout_s}); lower it or raise max_timeout_s`,
    );
}

/** The schema of devhatchery.yaml plus the checks that span keys (auth vs listen, defaults vs max, images vs allowed). */
export const checkedConfigSchema = configFileSchema.superRefine(
  (config, ctx) => {
    const issue: Issue = (path, message) =>
      ctx.addIssue({ code: "custom", path, message, params: { [CROSS_CHECK]: true } });
    checkAuth(config, issue);
    checkLimits(config, issue);
    checkImages(config, issue);
    checkRoots(config, issue);
    checkPools(config, issue);
    checkJobs(config, issue);
    checkPolicies(config, issue);
  },
  { when: () => true },
);

export type CheckedConfig = z.infer<typeof checkedConfigSchema>;
