import { createHash } from "node:crypto";
import type { ControlPlaneConfig, ImagePullPolicy } from "../../config.js";
import { isImageAllowed } from "../../config/image-pattern.js";
import { PolicyDeniedError } from "../../auth/policy-denied-error.js";
import { ControlPlaneError } from "../../errors.js";
import type { RunnerLimits } from "../../runtime/runner-container-spec.js";
import type { MountRequest } from "../mounts/mount-policy.js";
import {
  RUNNER_ID_PATTERN,
  RUNNER_NAME_PATTERN,
  type IsolationProfile,
  type SpawnRequest,
  type StorageKind,
} from "../runner.js";

export type LimitsPolicy = ControlPlaneConfig["limits"];

/** The operator's side of a spawn: defaults and maxima. */
export interface SpawnPolicy {
  defaultImage: string;
  limits: LimitsPolicy;
  profile: IsolationProfile;
  /** Image patterns runners may use (config images.allowed); empty or omitted allows every image. */
  allowedImages?: readonly string[];
}

/** Digest patterns of one rule set: images.allowed (policy "server") or a caller's policy. */
export interface DigestPins {
  policy: string;
  patterns: string[];
}

/** A spawn request with every default applied and every rule checked; nothing has been created yet. */
export interface ValidSpawn {
  image: string;
  mounts: MountRequest[];
  /** As asked; undefined means "a fresh workspace keyed by the runner id" (or none with tmpfs). */
  workspaceKey: string | undefined;
  storage: StorageKind;
  alias: string | undefined;
  limits: RunnerLimits;
  network: boolean;
  env: Record<string, string>;
  profile: IsolationProfile;
  idempotencyKey: string | undefined;
  /** Set by the image check (ImageGate.choose): the image is one of the caller's snapshots. */
  ownSnapshot?: boolean;
  /** Set by the image check: images.allowed admits the image only by digest, so its digest is resolved and checked. */
  imagePinned?: boolean;
  /** Set by the image check: the digest patterns that pinned it, one list per rule set (server, caller's policy). */
  imagePinPatterns?: DigestPins[] | undefined;
  /** Set by the image check: the caller's policy when it forbids pulls. */
  imagePullPolicy?: string | undefined;
  /** Set by the image check: images.pull as the caller's policy narrows it. */
  imagePull?: ImagePullPolicy | undefined;
}

export { PolicyDeniedError };

export const MIN_MEMORY_MB = 64;
export const MAX_ENV_VARS = 64;
export const MAX_ENV_VALUE_BYTES = 32 * 1024;
export const MAX_ENV_TOTAL_BYTES = 128 * 1024;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV_PREFIX = "DEVHATCHERY_";
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;
const NAME_RULE = 'use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Applies the operator's defaults and checks every rule; throws INVALID_ARGUMENT or POLICY_DENIED naming the value, the limit and the fix. */
export function validateSpawnRequest(request: SpawnRequest, policy: SpawnPolicy): ValidSpawn {
  const image = request.image ?? policy.defaultImage;
  if (!image.trim() || /\s/.test(image) || image.length > 255) throw invalidImage(image);
  const allowed = policy.allowedImages ?? [];
  if (!isImageAllowed(image, allowed)) {
    throw new PolicyDeniedError(
      "image",
      allowed.join(", "),
      `image "${image}" is not allowed on this server; use one matching ${allowed.map((pattern) => `"${pattern}"`).join(", ")}, or omit image for the default "${policy.defaultImage}".`,
    );
  }
  const workspaceKey =
    request.workspaceKey === undefined ? undefined : checkName("workspace_key", request.workspaceKey);
  const alias = request.alias === undefined ? undefined : checkName("alias", request.alias);
  const storage = request.storage ?? "volume";
  if (storage === "tmpfs" && workspaceKey !== undefined) {
    throw invalid(
      `storage "tmpfs" cannot be combined with workspace_key "${workspaceKey}": a tmpfs /work is gone when the runner is removed, so there is no workspace to keep. ` +
        'Omit workspace_key for a throwaway runner, or use storage "volume" (the default) to keep /work under that key.',
    );
  }
  if (request.idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)) {
    throw invalid(
      `idempotency_key "${request.idempotencyKey}" is not valid: use 1 to 128 printable ASCII characters without spaces, e.g. a UUID.`,
    );
  }
  return {
    image,
    mounts: request.mounts ?? [],
    workspaceKey,
    storage,
    alias,
    limits: checkLimits(request, policy.limits),
    network: request.network ?? true,
    env: checkEnv(request.env ?? {}),
    profile: checkProfile(request.profile, policy.profile),
    idempotencyKey: request.idempotencyKey,
  };
}

/** A stable hash of what a spawn asks for (defaults applied, idempotency key left out): equal requests hash equal. */
export function spawnRequestHash(spawn: ValidSpawn): string {
  const canonical = {
    image: spawn.image,
    mounts: spawn.mounts.map((mount) => [mount.alias, mount.subpath ?? "", mount.target ?? "", mount.mode ?? "ro"]),
    workspaceKey: spawn.workspaceKey ?? null,
    storage: spawn.storage,
    alias: spawn.alias ?? null,
    limits: [spawn.limits.cpus, spawn.limits.memoryMb, spawn.limits.pids],
    network: spawn.network,
    env: Object.entries(spawn.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    profile: spawn.profile,
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

/** Aliases and workspace keys: the name rule, and never the shape of a runner id (refs resolve ids first). */
export function checkName(field: "alias" | "workspace_key", value: string): string {
  if (!RUNNER_NAME_PATTERN.test(value)) throw invalid(`${field} "${value}" is not valid: ${NAME_RULE}.`);
  if (RUNNER_ID_PATTERN.test(value))
    throw invalid(`${field} "${value}" looks like a runner id ("r-" and 12 hex digits); choose another ${field}.`);
  return value;
}

function checkLimits(request: SpawnRequest, limits: LimitsPolicy): RunnerLimits {
  const cpus = request.cpus ?? Math.min(limits.defaults.cpus, limits.max.cpus);
  if (!Number.isFinite(cpus) || cpus <= 0)
    throw invalid(`cpus ${cpus} is not a positive number of CPUs; ask for e.g. 1 or 1.5.`);
  if (cpus > limits.max.cpus) {
    throw new PolicyDeniedError(
      "cpus",
      limits.max.cpus,
      `cpus ${cpus} is above this server's maximum of ${limits.max.cpus}; ask for ${limits.max.cpus} or less.`,
    );
  }
  const memoryMb = request.memoryMb ?? Math.min(limits.defaults.memoryMb, limits.max.memoryMb);
  if (!Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB) {
    throw invalid(
      `memory_mb ${memoryMb} is below the minimum of ${MIN_MEMORY_MB} (or not a whole number); ask for ${MIN_MEMORY_MB} or more.`,
    );
  }
  if (memoryMb > limits.max.memoryMb) {
    throw new PolicyDeniedError(
      "memory_mb",
      limits.max.memoryMb,
      `memory_mb ${memoryMb} is above this server's maximum of ${limits.max.memoryMb}; ask for ${limits.max.memoryMb} or less.`,
    );
  }
  return { cpus, memoryMb, pids: Math.min(limits.defaults.pids, limits.max.pids) };
}

function checkEnv(env: Record<string, string>): Record<string, string> {
  const entries = Object.entries(env);
  if (entries.length > MAX_ENV_VARS)
    throw invalid(
      `env has ${entries.length} variables, more than the maximum of ${MAX_ENV_VARS}; pass fewer (or write a file in /work and source it).`,
    );
  let total = 0;
  for (const [name, value] of entries) {
    if (!ENV_NAME_PATTERN.test(name))
      throw invalid(
        `env name "${name}" is not valid: use letters, digits and "_", not starting with a digit, e.g. "MY_VAR".`,
      );
    if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX)) {
      throw invalid(
        `env name "${name}" is reserved: names starting with "${RESERVED_ENV_PREFIX}" belong to the runner's agent; rename the variable.`,
      );
    }
    if (value.includes("\0"))
      throw invalid(`env value of "${name}" contains a NUL character, which an environment cannot hold; remove it.`);
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > MAX_ENV_VALUE_BYTES)
      throw invalid(
        `env value of "${name}" is ${bytes} bytes, more than the maximum of ${MAX_ENV_VALUE_BYTES}; write it to a file in /work instead.`,
      );
    total += bytes + name.length;
  }
  if (total > MAX_ENV_TOTAL_BYTES)
    throw invalid(
      `env holds ${total} bytes in all, more than the maximum of ${MAX_ENV_TOTAL_BYTES}; write large values to a file in /work instead.`,
    );
  return env;
}

function checkProfile(requested: IsolationProfile | undefined, required: IsolationProfile): IsolationProfile {
  if (requested === "default" && required === "hardened") {
    throw new PolicyDeniedError(
      "profile",
      "hardened",
      'profile "default" is not allowed: this server requires the "hardened" profile for every runner; omit profile or ask for "hardened".',
    );
  }
  return requested ?? required;
}

/** INVALID_ARGUMENT for a string that is no image reference at all. */
export function invalidImage(image: string): ControlPlaneError {
  return invalid(
    `image "${image}" is not an image reference; give a name like "ubuntu:24.04" (no spaces, at most 255 characters) or omit it for the default.`,
  );
}

function invalid(message: string): ControlPlaneError {
  return new ControlPlaneError("INVALID_ARGUMENT", message);
}
