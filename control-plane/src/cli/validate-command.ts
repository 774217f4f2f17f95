import { parseArgs } from "node:util";
import { discoverProvider } from "../auth/oidc/provider-metadata.js";
import { loadConfig, type ControlPlaneConfig } from "../config.js";
import { asControlPlaneError } from "../errors.js";
import { createLogger } from "../log.js";
import { DockerDeploymentProbe } from "../runtime/docker-deployment-probe.js";
import type { CliContext } from "./cli-context.js";
import { baseUrlOf, configPathOf, describeSource, formatProblems, loadCliConfig } from "./cli-config.js";
import { EXIT } from "./exit-codes.js";
import { formatWarnings, hardeningWarnings, readHostFacts } from "./host-hardening-checks.js";
import { checkHostPaths, describeAuditLog } from "./host-path-checks.js";

export const VALIDATE_HELP = `Usage: devhatchery validate [--config PATH]

Checks the configuration (the file, then DEVHATCHERY_* overrides) and lists every problem at once, each with a fix;
then checks that the host paths it names exist and that the Docker engine answers. Creates nothing. Warns (on
stderr, without failing) about host hardening an operator serving untrusted tenants must set: rw allowed roots on
filesystems mounted nosuid, user-namespace remapping in the engine, and raised fs.inotify limits.

Options:
  --config PATH   the config file (default: DEVHATCHERY_CONFIG, else the embedded defaults)
  --help          show this help

Exit codes: 0 valid, 1 invalid configuration or missing host paths, 2 Docker unreachable.
`;

/**
 * With auth.mode oidc, asks the issuer for its metadata: a warning (not an error) when it does not answer, since the
 * provider may be reachable only from where the server runs.
 */
async function checkOidcProvider(config: ControlPlaneConfig): Promise<{ line?: string; warning?: string }> {
  const oidc = config.auth.oidc;
  if (config.auth.mode !== "oidc" || !oidc) return {};
  try {
    const metadata = await discoverProvider(oidc.issuer, oidc.httpTimeoutMs);
    return {
      line: `issuer ${oidc.issuer} answers (keys at ${metadata.jwks_uri}${metadata.introspection_endpoint && oidc.introspection ? ", introspection" : ""}); audience ${oidc.audience}; resource ${oidc.resource}`,
    };
  } catch (error) {
    return {
      line: `issuer ${oidc.issuer}: not reachable from here; audience ${oidc.audience}; resource ${oidc.resource}`,
      warning: `warning: auth.oidc.issuer: ${(error as Error).message}; the configuration is valid, but tokens are refused with 503 until the control plane reaches the provider\n`,
    };
  }
}

export async function validateCommand(args: string[], context: CliContext): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: "string" } }, strict: true });
  const path = configPathOf(values.config, context.env);
  const config = loadCliConfig(context, path);
  if (!config) return EXIT.invalid;
  const { HOME, XDG_STATE_HOME } = context.env;
  const problems = checkHostPaths(config, loadConfig({ HOME, XDG_STATE_HOME }));
  let dockerProblem: string | undefined;
  let securityOptions: string[] | undefined;
  try {
    const probe = new DockerDeploymentProbe(config.dockerHost, createLogger("silent"));
    await probe.ping();
    securityOptions = await probe.securityOptions().catch(() => undefined);
  } catch (error) {
    dockerProblem = `the engine at "${config.dockerHost ?? "Docker's default endpoint"}" does not answer: ${asControlPlaneError(error).message}`;
  }
  const all = [...problems, ...(dockerProblem ? [{ where: "docker.host", message: dockerProblem }] : [])];
  if (all.length > 0) {
    context.err(formatProblems(`Problems with ${describeSource(path, context.env)}`, all));
    return problems.length > 0 ? EXIT.invalid : EXIT.dockerUnreachable;
  }
  const tokens = config.auth.tokens.length;
  const tokenCount = tokens > 0 ? ` (${tokens} bearer token${tokens === 1 ? "" : "s"})` : "";
  const provider = await checkOidcProvider(config);
  context.out(
    [
      `OK: ${describeSource(path, context.env)} is valid.`,
      `  listen   ${baseUrlOf(config)}/mcp, auth ${config.auth.mode}${config.auth.mode === "none" ? "" : tokenCount}`,
      ...(provider.line ? [`  oidc     ${provider.line}`] : []),
      ...(config.policies.length > 0 || config.defaultPolicy !== "unrestricted"
        ? [
            `  policies ${[...config.policies.map((policy) => policy.name), `${config.defaultPolicy} (default)`].join(", ")}; \`devhatchery plan --principal NAME --group NAME\` shows what a caller gets`,
          ]
        : []),
      `  docker   reachable at ${config.dockerHost ?? "Docker's default endpoint"}`,
      `  images   default ${config.defaultImage}; prepull ${config.prepullImages.join(", ") || "none"}; allowed ${config.allowedImages.join(", ") || "any"}; pull ${config.imagePull} from ${config.imageRegistries.join(", ")}${config.allowIdReferences ? "; image ids accepted" : ""}`,
      ...(config.pools.length > 0
        ? [
            `  pools    ${config.pools.map((pool) => `${pool.name} (${pool.image}, ${pool.min}-${pool.max})`).join(", ")}`,
          ]
        : []),
      `  roots    ${config.allowedRoots.map((root) => `${root.alias}=${root.hostPath}${root.allowRw ? " (rw)" : ""}`).join(", ") || "none"}`,
      `  state    ${config.stateDir}; exports ${config.exports.root}`,
      `  audit    ${describeAuditLog(config.auditLog)}`,
      "",
    ].join("\n"),
  );
  const warnings = hardeningWarnings(config.allowedRoots, readHostFacts(securityOptions));
  if (provider.warning) context.err(provider.warning);
  if (warnings.length > 0) context.err(formatWarnings(warnings));
  return EXIT.ok;
}
