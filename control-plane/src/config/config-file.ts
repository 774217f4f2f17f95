import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { ENV } from "./config-env.js";
import type { ConfigProblem } from "./config-error.js";

/** A key written with no value (`state:` with every key below commented out) counts as not set. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .map(([name, item]) => [name, withoutNulls(item)]),
  );
}

/** The mapping in a devhatchery.yaml, or the problems that keep it from being read (a missing named file is one). */
export function readConfigFile(path: string): { raw: Record<string, unknown>; problems: ConfigProblem[] } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const fix =
      code === "ENOENT"
        ? `write one with \`devhatchery init ${path}\`, or fix --config / ${ENV.config}`
        : "check the path and its permissions";
    return { raw: {}, problems: [{ where: path, message: `cannot be read (${code}); ${fix}` }] };
  }
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const position = error.linePos?.[0];
      return {
        where: position ? `${path}:${position.line}:${position.col}` : path,
        message: `${error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}; fix the YAML syntax`,
      };
    });
    return { raw: {}, problems };
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return { raw: {}, problems: [] };
  if (typeof value !== "object" || Array.isArray(value)) {
    return {
      raw: {},
      problems: [
        {
          where: path,
          message:
            "must hold a YAML mapping of sections (listen:, auth:, images:, …); `devhatchery init` writes a template",
        },
      ],
    };
  }
  return { raw: withoutNulls(value) as Record<string, unknown>, problems: [] };
}
