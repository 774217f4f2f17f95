import { stringify } from "yaml";
import { describeConfig, type ConfigKey } from "./config-reference.js";

const HEADER = [
  "# devhatchery.yaml: the DevHatchery control plane's configuration.",
  "# Every key is optional: a missing key takes the default shown here. Precedence: these defaults, then this file",
  "# (`devhatchery serve --config PATH` or DEVHATCHERY_CONFIG), then DEVHATCHERY_* environment variables (named beside each",
  "# key). Check it with `devhatchery validate --config PATH`; see what serve would create with `devhatchery plan`.",
  "# Reference: docs/configuration.md.",
];

/** Commented examples for lists of entries, which are empty by default. */
const ENTRY_EXAMPLES: Record<string, string[]> = {
  "auth.tokens": [
    "- principal: alice",
    '  token_sha256: <64 hex digits>   # printf %s "$TOKEN" | sha256sum   (the file then holds no secret)',
    "- principal: ci",
    "  token_file: /run/secrets/devhatchery-ci-token",
  ],
  allowed_roots: ["- alias: data", "  path: /srv/data", "  mode: ro"],
  policies: [
    "- name: readers          # may look, never change",
    "  groups: [auditors]",
    "  tools: [read]",
    "- name: developers",
    "  groups: [dev]",
    '  images: ["devhatchery/*", "ubuntu:*"]',
    "  max_cpus: 2",
    "  max_memory_mb: 4096",
    "  max_runners: 5",
    "  mounts: [data:ro]",
    "  tools: [all]",
  ],
};

function scalar(value: unknown): string {
  return stringify(value, { flow: true, lineWidth: 0 }).trim();
}

function keyLines(key: ConfigKey, indent: string): string[] {
  const name = key.path.at(-1)!;
  const env = key.meta.env ? ` (${key.meta.env})` : "";
  const lines = [`${indent}# ${key.meta.description}${env}`];
  if (key.meta.defaultText !== undefined || key.default === undefined) {
    const example = key.meta.example === undefined ? "" : ` ${scalar(key.meta.example)}`;
    lines.push(`${indent}# ${name}:${example}${key.meta.defaultText ? `   # default: ${key.meta.defaultText}` : ""}`);
    return lines;
  }
  lines.push(`${indent}${name}: ${scalar(key.default)}`);
  for (const example of ENTRY_EXAMPLES[key.path.join(".")] ?? []) lines.push(`${indent}#   ${example}`);
  return lines;
}

/** The commented devhatchery.yaml that `devhatchery init` writes: every key at its default, so it validates as is. */
export function renderConfigTemplate(): string {
  const { keys, sections } = describeConfig();
  const lines = [...HEADER];
  let open: string[] = [];
  for (const key of keys.filter((candidate) => !candidate.path.includes("[]"))) {
    const parent = key.path.slice(0, -1);
    const shared = open.findIndex((part, index) => parent[index] !== part);
    const keep = shared === -1 ? Math.min(open.length, parent.length) : shared;
    for (let depth = keep; depth < parent.length; depth++) {
      const section = sections.find((candidate) => candidate.path.join(".") === parent.slice(0, depth + 1).join("."));
      if (depth === 0) lines.push("");
      lines.push(`${"  ".repeat(depth)}${parent[depth]}:${section?.description ? `   # ${section.description}` : ""}`);
    }
    if (parent.length === 0) lines.push("");
    open = parent;
    lines.push(...keyLines(key, "  ".repeat(parent.length)));
  }
  return `${lines.join("\n")}\n`;
}
