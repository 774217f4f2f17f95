import { AgentError } from "../errors.js";

/**
 * Ignored unless a watch re-includes them ("!node_modules/"): directories that are never edited by hand, hold
 * many files and would cost many inotify watches. Build outputs such as dist/, build/ and target/ are not here:
 * projects list them in .gitignore, and some users do want to watch them.
 */
export const DEFAULT_IGNORES: readonly string[] = [
  ".git/",
  ".hg/",
  ".svn/",
  "node_modules/",
  ".pnpm-store/",
  ".yarn/cache/",
  ".venv/",
  "__pycache__/",
  ".mypy_cache/",
  ".pytest_cache/",
  ".ruff_cache/",
  ".tox/",
  ".gradle/",
  ".next/",
  ".nuxt/",
  ".turbo/",
  ".parcel-cache/",
];

const MAX_IGNORE_PATTERNS = 256;
const MAX_IGNORE_PATTERN_LENGTH = 1024;

/** A watch request in plain values; optional booleans and zero numbers take the defaults. */
export interface WatchRequest {
  path: string;
  recursive?: boolean;
  ignore: string[];
  gitignore?: boolean;
  debounceMs: number;
  historyLimit: number;
  idleTimeoutMs: number;
}

export interface WatchOptions {
  recursive: boolean;
  ignore: string[];
  gitignore: boolean;
  debounceMs: number;
  historyLimit: number;
  idleTimeoutMs: number;
}

/** Applies the defaults to a request and checks its bounds, naming the field, the value and the allowed range. */
export function resolveWatchOptions(request: WatchRequest): WatchOptions {
  if (request.ignore.length > MAX_IGNORE_PATTERNS) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `ignore has ${request.ignore.length} patterns, more than the limit of ${MAX_IGNORE_PATTERNS}; ignore whole directories ("build/") instead of single files.`,
    );
  }
  const long = request.ignore.find((pattern) => pattern.length > MAX_IGNORE_PATTERN_LENGTH || pattern.includes("\0"));
  if (long !== undefined) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `Ignore pattern "${long.slice(0, 80)}" is longer than ${MAX_IGNORE_PATTERN_LENGTH} characters or contains a NUL byte; use a shorter .gitignore-style pattern.`,
    );
  }
  return {
    recursive: request.recursive ?? true,
    ignore: request.ignore,
    gitignore: request.gitignore ?? true,
    debounceMs: boundedOption("debounce_ms", request.debounceMs, { defaultValue: 50, max: 10_000 }),
    historyLimit: boundedOption("history_limit", request.historyLimit, { defaultValue: 1000, max: 10_000 }),
    idleTimeoutMs: boundedOption("idle_timeout_ms", request.idleTimeoutMs, { defaultValue: 600_000, max: 86_400_000 }),
  };
}

/** A number option where 0 means the default: returns the value, or throws INVALID_ARGUMENT outside [min, max]. */
export function boundedOption(
  name: string,
  value: number,
  range: { defaultValue: number; max: number; min?: number },
): number {
  if (value === 0) return range.defaultValue;
  const min = range.min ?? 1;
  if (!Number.isInteger(value) || value < min || value > range.max) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `${name} ${value} is out of range; use ${min} to ${range.max}, or 0 for the default ${range.defaultValue}.`,
    );
  }
  return value;
}
