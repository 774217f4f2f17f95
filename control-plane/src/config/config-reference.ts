import type { z } from "zod";
import { configFileSchema, type KeyMeta } from "./config-schema.js";

/** The shapes of value a key takes: how an environment override is parsed and how the reference shows it. */
export type KeyKind = "string" | "number" | "integer" | "enum" | "list" | "entries" | "boolean";

/** One key of devhatchery.yaml as the schema defines it. */
export interface ConfigKey {
  /** e.g. ["limits", "max", "memory_mb"]; entries of a list of objects are under "[]": ["auth", "tokens", "[]", "principal"]. */
  path: string[];
  kind: KeyKind;
  /** The enum's values. */
  values?: string[];
  /** Bounds of a number (inclusive unless the text says otherwise, e.g. "> 0"). */
  min?: string;
  max?: string;
  default: unknown;
  required: boolean;
  meta: KeyMeta;
}

/** A section (a mapping of keys) and its description. */
export interface ConfigSection {
  path: string[];
  description: string;
}

type AnySchema = z.core.$ZodType & { meta(): Record<string, unknown> | undefined };

function defOf(schema: AnySchema): { type: string } & Record<string, unknown> {
  return schema._zod.def as unknown as { type: string } & Record<string, unknown>;
}

/** Strips default, prefault and optional wrappers: the value's own schema, its default and whether it may be left out. */
function unwrap(schema: AnySchema): { inner: AnySchema; default: unknown; required: boolean } {
  let inner = schema;
  let fallback: unknown;
  let required = true;
  for (;;) {
    const def = defOf(inner);
    if (def.type === "default" || def.type === "prefault") fallback = def.defaultValue;
    else if (def.type !== "optional") break;
    required = false;
    inner = def.innerType as AnySchema;
  }
  return { inner, default: fallback, required };
}

function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const def = defOf(unwrap(schema).inner);
  return def.type === "object" ? (def.shape as Record<string, AnySchema>) : undefined;
}

/** The schema of the object at `path` (list indexes are skipped), or undefined when there is none. */
export function objectKeysAt(
  path: Array<string | number>,
  root: AnySchema = configFileSchema as unknown as AnySchema,
): string[] | undefined {
  let current: AnySchema | undefined = root;
  for (const part of path) {
    if (!current) return undefined;
    const inner: AnySchema = unwrap(current).inner;
    const def = defOf(inner);
    if (typeof part === "number") current = def.type === "array" ? (def.element as AnySchema) : undefined;
    else current = def.type === "object" ? (def.shape as Record<string, AnySchema>)[part] : undefined;
  }
  const shape = current && shapeOf(current);
  return shape ? Object.keys(shape) : undefined;
}

type CheckDef = { check: string; format?: string; value?: number; inclusive?: boolean };

function kindOf(inner: AnySchema): Pick<ConfigKey, "kind" | "values" | "min" | "max"> {
  const def = defOf(inner);
  if (def.type === "enum") return { kind: "enum", values: Object.values(def.entries as Record<string, string>) };
  if (def.type === "number") {
    const checks = ((def.checks as Array<{ _zod: { def: CheckDef } }> | undefined) ?? []).map(
      (check) => check._zod.def,
    );
    const bound = (name: string, exclusive: string): string | undefined => {
      const check = checks.find((candidate) => candidate.check === name);
      return check ? `${check.inclusive ? "" : exclusive}${check.value}` : undefined;
    };
    const min = bound("greater_than", "> ");
    const max = bound("less_than", "< ");
    return {
      kind: checks.some((check) => check.format === "safeint") ? "integer" : "number",
      ...(min ? { min } : {}),
      ...(max ? { max } : {}),
    };
  }
  if (def.type === "boolean") return { kind: "boolean" };
  if (def.type === "array") return { kind: defOf(def.element as AnySchema).type === "object" ? "entries" : "list" };
  return { kind: "string" };
}

/** Every key and section of devhatchery.yaml, in schema order (the order of the template and the reference). */
export function describeConfig(root: AnySchema = configFileSchema as unknown as AnySchema): {
  keys: ConfigKey[];
  sections: ConfigSection[];
} {
  const keys: ConfigKey[] = [];
  const sections: ConfigSection[] = [];
  const walk = (schema: AnySchema, path: string[]): void => {
    for (const [name, child] of Object.entries(shapeOf(schema) ?? {})) {
      const childPath = [...path, name];
      const { inner, default: fallback, required } = unwrap(child);
      const meta = (child.meta() ?? {}) as unknown as KeyMeta;
      if (defOf(inner).type === "object") {
        sections.push({ path: childPath, description: meta.description });
        walk(child, childPath);
        continue;
      }
      keys.push({
        path: childPath,
        ...kindOf(inner),
        default: fallback,
        required: required && fallback === undefined,
        meta,
      });
      const element = defOf(inner).element as AnySchema | undefined;
      if (element && shapeOf(element)) walk(element, [...childPath, "[]"]);
    }
  };
  walk(root, []);
  return { keys, sections };
}
