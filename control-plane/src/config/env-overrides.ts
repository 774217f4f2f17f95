import type { EnvName } from "./config-env.js";
import type { ConfigProblem } from "./config-error.js";
import { describeConfig, type ConfigKey } from "./config-reference.js";

/** A DEVHATCHERY_* variable that was set, and the value it puts at its key of devhatchery.yaml. */
export interface EnvOverride {
  env: EnvName;
  path: string[];
  raw: string;
  value: unknown;
}

function splitList(raw: string): string[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** `principal:token` (the token may contain ":"). */
function parseToken(entry: string): Record<string, string> | undefined {
  const separator = entry.indexOf(":");
  return separator > 0 ? { principal: entry.slice(0, separator), token: entry.slice(separator + 1) } : undefined;
}

/** `alias=/host/path[:ro|:rw]`. */
function parseRoot(entry: string): Record<string, string> | undefined {
  const separator = entry.indexOf("=");
  if (separator <= 0) return undefined;
  const rest = entry.slice(separator + 1);
  const mode = /:(ro|rw)$/.exec(rest)?.[1];
  return { alias: entry.slice(0, separator), path: mode ? rest.slice(0, -3) : rest, ...(mode ? { mode } : {}) };
}

const ENTRY_FORMATS: Record<
  string,
  { parse: (entry: string) => Record<string, string> | undefined; expected: string }
> = {
  "auth.tokens": { parse: parseToken, expected: '"principal:token", e.g. "alice:$(openssl rand -hex 32)"' },
  allowed_roots: { parse: parseRoot, expected: '"alias=/host/path[:ro|:rw]", e.g. "data=/srv/data:ro"' },
};

function parseValue(key: ConfigKey, env: EnvName, raw: string, problems: ConfigProblem[]): unknown {
  switch (key.kind) {
    case "number":
    case "integer":
      return Number(raw);
    case "list":
      return splitList(raw);
    case "boolean":
      // Anything else stays a string, which the schema reports as not a boolean.
      return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : raw;
    case "entries": {
      const format = ENTRY_FORMATS[key.path.join(".")];
      if (!format) return splitList(raw);
      // An entry that cannot be split stays a string (keeping the indexes of the others); its problem is reported here.
      return splitList(raw).map((entry, index) => {
        const parsed = format.parse(entry);
        if (!parsed)
          problems.push({
            where: `${env}[${index}]`,
            message: `expected ${format.expected}; entries are separated by ","`,
          });
        return parsed ?? entry;
      });
    }
    default:
      return raw;
  }
}

/** Reads every DEVHATCHERY_* override that is set (an empty variable counts as unset) and parses it for its key. */
export function readEnvOverrides(env: NodeJS.ProcessEnv): { overrides: EnvOverride[]; problems: ConfigProblem[] } {
  const overrides: EnvOverride[] = [];
  const problems: ConfigProblem[] = [];
  for (const key of describeConfig().keys) {
    const name = key.meta.env;
    const raw = name === undefined ? undefined : env[name]?.trim();
    if (name === undefined || !raw) continue;
    overrides.push({ env: name, path: key.path, raw, value: parseValue(key, name, raw, problems) });
  }
  return { overrides, problems };
}

/** A copy of the file's mapping with every override put at its key (sections are created as needed). */
export function applyOverrides(file: Record<string, unknown>, overrides: EnvOverride[]): Record<string, unknown> {
  const merged: Record<string, unknown> = structuredClone(file);
  for (const override of overrides) {
    let target = merged;
    for (const part of override.path.slice(0, -1)) {
      const next = target[part];
      target = target[part] =
        typeof next === "object" && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
    }
    target[override.path.at(-1)!] = override.value;
  }
  return merged;
}
