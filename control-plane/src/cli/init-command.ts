import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { renderConfigTemplate } from "../config/config-template.js";
import type { CliContext } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";

export const INIT_HELP = `Usage: devhatchery init [path] [--force]

Writes a commented devhatchery.yaml (default: ./devhatchery.yaml) with every key at its default; edit it, then check
it with \`devhatchery validate --config <path>\`.

Options:
  --force   overwrite an existing file
  --help    show this help
`;

export function initCommand(args: string[], context: CliContext): number {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1) {
    context.err(
      `devhatchery init: expected at most one path, got ${positionals.length}; run \`devhatchery init --help\`.\n`,
    );
    return EXIT.invalid;
  }
  const path = resolve(positionals[0] ?? "devhatchery.yaml");
  try {
    writeFileSync(path, renderConfigTemplate(), { flag: values.force ? "w" : "wx", mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const fix =
      code === "EEXIST"
        ? "pass --force to overwrite it, or choose another path"
        : "check that the folder exists and is writable";
    context.err(`devhatchery init: cannot write "${path}" (${code}); ${fix}.\n`);
    return EXIT.invalid;
  }
  context.out(`Wrote ${path}. Edit it, then run: devhatchery validate --config ${path}\n`);
  return EXIT.ok;
}
