import type { z } from "zod";
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
      `"none" is only allowed on a loopback address, not "${host}"; use bearer auth with tokens (auth.mode: bearer and auth.tokens, or DEVHATCHERY_AUTH=bearer with DEVHATCHERY_BEARER_TOKENS), or listen on 127.0.0.1`,
    );
  }
  if (mode === "bearer" && tokens.length === 0) issue(["auth", "tokens"], 'auth "bearer" needs at least one token');
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

/** The schema of devhatchery.yaml plus the checks that span keys (auth vs listen, defaults vs max, images vs allowed). */
export const checkedConfigSchema = configFileSchema.superRefine(
  (config, ctx) => {
    const issue: Issue = (path, message) =>
      ctx.addIssue({ code: "custom", path, message, params: { [CROSS_CHECK]: true } });
    checkAuth(config, issue);
    checkLimits(config, issue);
    checkImages(config, issue);
    checkRoots(config, issue);
  },
  { when: () => true },
);

export type CheckedConfig = z.infer<typeof checkedConfigSchema>;
