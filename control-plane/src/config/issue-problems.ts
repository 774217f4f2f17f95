import type { z } from "zod";
import type { ConfigProblem } from "./config-error.js";
import { describeConfig, objectKeysAt } from "./config-reference.js";
import type { EnvOverride } from "./env-overrides.js";
import { closestName } from "./closest-name.js";

type Path = ReadonlyArray<PropertyKey>;

/** Set in the params of issues raised by checks across keys (config-checks.ts), whose messages carry their values. */
export const CROSS_CHECK = "crossCheck";

const SECRET_KEYS = new Set(["token", "token_sha256"]);
const EXPECTED: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  array: "a list",
  object: "a mapping",
  boolean: "true or false",
};

/** `limits.max.memory_mb`, `auth.tokens[1].token`. */
export function formatPath(path: Path): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

function valueAt(input: unknown, path: Path): unknown {
  return path.reduce<unknown>(
    (value, part) =>
      typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined,
    input,
  );
}

function show(value: unknown, path: Path): string {
  const last = path.at(-1);
  if (typeof last === "string" && SECRET_KEYS.has(last))
    return typeof value === "string" ? `(hidden, ${value.length} characters)` : "(hidden)";
  if (typeof value === "number" && Number.isNaN(value)) return "not a number";
  return JSON.stringify(value) ?? String(value);
}

/** Where a key's value came from: the DEVHATCHERY_* variable that set it (with the rest of the path), else the key path. */
export function whereOf(path: Path, overrides: EnvOverride[]): { where: string; override: EnvOverride | undefined } {
  const override = overrides.find((candidate) => candidate.path.every((part, index) => path[index] === part));
  if (!override) return { where: formatPath(path), override };
  const rest = formatPath(path.slice(override.path.length));
  return { where: `${override.env}${rest.startsWith("[") || rest === "" ? rest : `.${rest}`}`, override };
}

function hintFor(path: Path): string | undefined {
  const shape = path.map((part) => (typeof part === "number" ? "[]" : String(part))).join(".");
  return describeConfig().keys.find((key) => key.path.join(".") === shape)?.meta.hint;
}

function whatIsWrong(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      return value === undefined ? "is required" : `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
    case "too_small":
      if (issue.origin === "string")
        return issue.minimum === 1 ? "must not be empty" : `must be at least ${issue.minimum} characters`;
      if (issue.origin === "array") return `must list at least ${issue.minimum}`;
      return issue.inclusive ? `must be at least ${issue.minimum}` : `must be greater than ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(String).join(", ")}`;
    default:
      return /^Invalid /.test(issue.message) ? "is not valid" : issue.message;
  }
}

function unknownKey(path: Path, name: string): string {
  const siblings = objectKeysAt(path.filter((part): part is string | number => typeof part !== "symbol")) ?? [];
  const close = closestName(name, siblings);
  if (close) return `is not a known key; did you mean "${close}"?`;
  const elsewhere = [
    ...describeConfig().keys.map((key) => key.path),
    ...describeConfig().sections.map((section) => section.path),
  ].find((other) => other.at(-1) === name);
  if (elsewhere) return `is not a known key here; did you mean "${elsewhere.join(".").replaceAll(".[]", "[]")}"?`;
  return `is not a known key; the keys here are ${siblings.join(", ")}`;
}

/** Turns schema issues into problems that name the key (or the variable that set it), the bad value and the fix. */
export function describeIssues(issues: z.core.$ZodIssue[], input: unknown, overrides: EnvOverride[]): ConfigProblem[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((name) => ({
        where: whereOf([...issue.path, name], overrides).where,
        message: unknownKey(issue.path, name),
      }));
    }
    const { where, override } = whereOf(issue.path, overrides);
    const value = valueAt(input, issue.path);
    const shown =
      override && override.path.length === issue.path.length && Object.is(override.value, value)
        ? JSON.stringify(override.raw)
        : show(value, issue.path);
    const wrong = whatIsWrong(issue, value);
    // Checks across keys name the values they compare themselves.
    const withValue = value !== undefined && !(issue.code === "custom" && issue.params?.[CROSS_CHECK]);
    const hint = hintFor(issue.path);
    return [{ where, message: `${wrong}${withValue ? `, got ${shown}` : ""}${hint ? `; ${hint}` : ""}` }];
  });
}
