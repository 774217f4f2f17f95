import { ConfigError, ENV, loadConfig, type ControlPlaneConfig } from "../config.js";
import type { CliContext } from "./cli-context.js";

/** The config file a command reads: `--config`, else DEVHATCHERY_CONFIG, else none (the embedded defaults). */
export function configPathOf(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return option || env[ENV.config] || undefined;
}

/** Where the configuration came from, in words: "devhatchery.yaml", "the embedded defaults", plus the overrides. */
export function describeSource(path: string | undefined, env: NodeJS.ProcessEnv): string {
  const overrides = Object.keys(env)
    .filter((name) => name.startsWith("DEVHATCHERY_") && name !== ENV.config && env[name])
    .sort();
  const base = path ?? "the embedded defaults (no config file)";
  return overrides.length === 0 ? base : `${base} + ${overrides.join(", ")}`;
}

/** The configuration, or undefined after printing every problem with its fix to stderr. */
export function loadCliConfig(context: CliContext, path: string | undefined): ControlPlaneConfig | undefined {
  try {
    return loadConfig(context.env, path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    context.err(formatProblems(`Invalid configuration in ${describeSource(path, context.env)}`, error.problems));
    return undefined;
  }
}

export function formatProblems(title: string, problems: Array<{ where: string; message: string }>): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return `${title}: ${count}\n${problems.map((problem) => `  ✗ ${problem.where}: ${problem.message}\n`).join("")}`;
}

/** http://host:port for a listen address; wildcard binds are reached on loopback. */
export function baseUrlOf(config: ControlPlaneConfig): string {
  const host = ["0.0.0.0", "::", "[::]"].includes(config.listen.host) ? "127.0.0.1" : config.listen.host;
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${config.listen.port}`;
}
