import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { QUOTA_NAMES, type ControlPlaneConfig, type QuotaLimits } from "../config.js";
import { asControlPlaneError } from "../errors.js";
import { describePolicy, PolicyResolver } from "../auth/principal-policy.js";
import { createLogger } from "../log.js";
import { DockerDeploymentProbe } from "../runtime/docker-deployment-probe.js";
import type { CliContext } from "./cli-context.js";
import { baseUrlOf, configPathOf, describeSource, loadCliConfig } from "./cli-config.js";
import { EXIT } from "./exit-codes.js";
import { openOfflineGarbageCollector } from "../offline-garbage.js";

export const PLAN_HELP = `Usage: devhatchery plan [--config PATH] [--principal NAME] [--group NAME]...

Shows what \`devhatchery serve\` would use and create with this configuration, without creating anything: the runner
networks, the agent volume for the default image, the images to prepull, the state file, the export root, the listen
URL, the auth mode (tokens are never printed), the policies, retention and what garbage collection would delete now. With --principal or --group, also the policy such a
caller gets and every rule of it.

Options:
  --config PATH      the config file (default: DEVHATCHERY_CONFIG, else the embedded defaults)
  --principal NAME   show the effective policy of this principal (a bearer principal or an OIDC principal claim)
  --group NAME       ... with this group (repeat for several); alone, the policy of a caller with only these groups
  --help             show this help

Exit codes: 0 done, 1 invalid configuration, 2 Docker unreachable (the host side is still shown).
`;

type Line = [label: string, text: string];

/** `docker info` names the engine's architecture like `uname -m`; images (and `plan`) use Docker's image names. */
const IMAGE_ARCHITECTURE: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

/** An architecture in Docker's image words (amd64, arm64), whether it came from an image or from `docker info`. */
export function imageArchitecture(architecture: string): string {
  return IMAGE_ARCHITECTURE[architecture] ?? architecture;
}

/** The auth mode in words: who can get in (token principals, the OIDC issuer and audience), never a secret. */
export function describeAuth(config: ControlPlaneConfig): string {
  const principals = [...new Set(config.auth.tokens.map((token) => token.principal))].join(", ");
  const { oidc } = config.auth;
  if (config.auth.mode === "oidc" && oidc) {
    const scopes = oidc.scopes.length ? `, scopes ${oidc.scopes.join(" ")}` : "";
    const opaque = oidc.introspection ? ", opaque tokens introspected" : "";
    return `oidc (issuer ${oidc.issuer}, audience ${oidc.audience}${scopes}${opaque})${principals ? ` and bearer, principals ${principals}` : ""}`;
  }
  return config.auth.mode === "bearer" ? `bearer, principals ${principals}` : "none (one local principal)";
}

/** The quotas every principal has (quotas.*), when any is set. */
function quotaLines(config: ControlPlaneConfig): Line[] {
  const set = Object.entries(config.quotas).filter(([, value]) => value !== undefined);
  if (set.length === 0) return [];
  return [
    [
      "quotas",
      `${set.map(([key, value]) => `${QUOTA_NAMES[key as keyof QuotaLimits]} ${value}`).join(", ")} per principal (policies may lower them)`,
    ],
  ];
}

/** Idle runners, when the server acts on them (lifecycle.*). */
function idleLines(config: ControlPlaneConfig): Line[] {
  const { idleStopAfterS, idleAction, idleCheckIntervalS } = config.lifecycle;
  if (idleStopAfterS === 0) return [];
  return [
    [
      "idle",
      `runners are ${idleAction === "stop" ? "stopped" : "paused"} after ${idleStopAfterS} s without calls, processes, watches or streams (checked every ${idleCheckIntervalS} s); the next call naming one starts it again`,
    ],
  ];
}

/** Retention (lifecycle.*_retention_s, runner_max_lifetime_s) and garbage collection. */
function retentionLines(config: ControlPlaneConfig): Line[] {
  const { runnerMaxLifetimeS, workspaceRetentionS, snapshotRetentionS, exportRetentionS } = config.lifecycle;
  const rules = [
    runnerMaxLifetimeS ? `runners removed ${runnerMaxLifetimeS} s after creation` : "",
    workspaceRetentionS ? `unmounted workspaces deleted ${workspaceRetentionS} s after last use` : "",
    snapshotRetentionS ? `unused snapshots deleted ${snapshotRetentionS} s after creation` : "",
    exportRetentionS ? `exports deleted ${exportRetentionS} s after creation` : "",
  ].filter(Boolean);
  const { gcIntervalS, retentionWarningS, gcImages } = config.lifecycle;
  return [
    [
      "retention",
      rules.length
        ? `${rules.join("; ")} (owners warned ${retentionWarningS} s ahead)`
        : "runners, workspaces, snapshots and exports are kept until removed",
    ],
    [
      "gc",
      `every ${gcIntervalS} s: expired objects, unused agent volumes of other versions, dangling helpers${gcImages ? ", unused pulled images" : ""}`,
    ],
  ];
}

/** What garbage collection would delete now, by kind (`devhatchery gc --dry-run` lists each). */
async function garbageLines(config: ControlPlaneConfig): Promise<Line[]> {
  const { collector, close } = openOfflineGarbageCollector(config, createLogger("silent"));
  try {
    const { due, soon } = await collector.plan();
    const count = (items: typeof due): string => {
      const byKind = new Map<string, number>();
      for (const item of items) byKind.set(item.kind, (byKind.get(item.kind) ?? 0) + 1);
      return [...byKind].map(([kind, n]) => `${n} ${kind}`).join(", ");
    };
    return [
      [
        "garbage",
        due.length
          ? `due now: ${count(due)}${soon.length ? `; soon: ${count(soon)}` : ""} (devhatchery gc --dry-run lists them)`
          : `nothing due now${soon.length ? `; soon: ${count(soon)}` : ""}`,
      ],
    ];
  } finally {
    close();
  }
}

/** The policies and who they apply to, then the default; nothing when the configuration has none. */
function policyLines(config: ControlPlaneConfig): Line[] {
  if (config.policies.length === 0 && config.defaultPolicy === "unrestricted") return [];
  const who = (policy: ControlPlaneConfig["policies"][number]): string =>
    [
      policy.principals.length ? `principals ${policy.principals.join(", ")}` : "",
      policy.groups.length ? `groups ${policy.groups.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join("; ") || "nobody (named only as default_policy)";
  return [
    ...config.policies.map((policy): Line => ["policy", `${policy.name}: ${who(policy)}`]),
    ["policy", `${config.defaultPolicy}: everyone else (default_policy)`],
  ];
}

/** The policy a caller with this name and these groups gets, and every rule of it. */
function effectivePolicyLines(config: ControlPlaneConfig, principal: string | undefined, groups: string[]): Line[] {
  const { policy, matched } = new PolicyResolver(config.policies, config.defaultPolicy).resolve(
    principal ?? "",
    groups,
  );
  const caller = [
    principal ? `principal "${principal}"` : "a caller",
    groups.length ? `with groups ${groups.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  const why =
    matched.by === "default" ? "no policy names it: default_policy" : `matched ${matched.by} "${matched.value}"`;
  return [
    ["effective", `${caller} gets policy ${policy.name} (${why}), within the server-wide limits:`],
    ...describePolicy(policy).map((rule): Line => ["", `  ${rule}`]),
  ];
}

function hostLines(config: ControlPlaneConfig): Line[] {
  const state = join(config.stateDir, "state.db");
  return [
    ["listen", `${baseUrlOf(config)}/mcp, auth ${describeAuth(config)}`],
    ["state", `${state}: ${existsSync(state) ? "exists" : "would be created (folder mode 0700)"}`],
    ["exports", `${config.exports.root}: ${existsSync(config.exports.root) ? "exists" : "would be created"}`],
    ["audit log", config.auditLog ?? "off"],
    ...idleLines(config),
    ...retentionLines(config),
    [
      "apt cache",
      config.aptCache.enabled
        ? `on: port ${config.aptCache.port || "any free"} on each runner network's gateway, up to ${config.aptCache.maxMb} MiB in ${join(config.stateDir, "apt-cache")}`
        : "off (apt_cache.enabled): runners download packages directly",
    ],
    [
      "jobs",
      `at most ${config.jobs.maxConcurrent} at once (${config.jobs.maxQueued} queued), timeout ${config.jobs.defaultTimeoutS} s (up to ${config.jobs.maxTimeoutS}); profiles ${config.jobs.profiles.map((profile) => `${profile.name} (${profile.image})`).join(", ")}; output in ${join(config.stateDir, "jobs")}`,
    ],
    ...quotaLines(config),
    ...policyLines(config),
  ];
}

async function dockerLines(config: ControlPlaneConfig, probe: DockerDeploymentProbe): Promise<Line[]> {
  const log = createLogger("silent");
  const lines: Line[] = [];
  const network = async (name: string, how: string): Promise<void> => {
    lines.push(["network", `${name}: ${(await probe.networkExists(name)) ? "exists" : `would be created ${how}`}`]);
  };
  await network(config.runnerNetwork, "on the first spawn (bridge, inter-container traffic off)");
  await network(`${config.runnerNetwork}-offline`, "on the first spawn with network: false (internal bridge)");
  const image = await probe.image(config.defaultImage);
  lines.push([
    "image",
    `${config.defaultImage} (default): ${image ? `present (${imageArchitecture(image.architecture)}${image.agentVersion ? `, agent ${image.agentVersion} baked in` : ""})` : "would be pulled on the first spawn"}`,
  ]);
  if (image?.agentVersion) {
    lines.push(["agent volume", "not needed for the default image: it carries the agent"]);
  } else {
    const architecture = imageArchitecture(image?.architecture ?? (await probe.engineArchitecture()));
    const volume = await probe.agentVolumeName(architecture, config.agent, log);
    const state =
      volume === undefined
        ? `none exists for architecture ${architecture}`
        : (await probe.volumeExists(volume))
          ? "exists"
          : "would be created and filled on the first spawn";
    lines.push(["agent volume", `${volume ?? "-"} (${architecture}): ${state}`]);
  }
  for (const name of config.prepullImages) {
    lines.push([
      "prepull",
      `${name}: ${(await probe.image(name)) ? "present" : "would be pulled in the background at start-up"}`,
    ]);
  }
  if (config.prepullImages.length === 0) lines.push(["prepull", "none"]);
  for (const pool of config.pools) {
    const present = (await probe.image(pool.image)) ? "image present" : "image would be pulled at start-up";
    lines.push([
      "pool",
      `${pool.name}: ${pool.min} ready (up to ${pool.max}) of ${pool.image}, tmpfs /work, profile ${pool.profile}, network ${pool.network ? "on" : "off"}, ${pool.cpus} cpus and ${pool.memoryMb} MiB each (${pool.min * pool.memoryMb}-${pool.max * pool.memoryMb} MiB held); ${present}`,
    ]);
  }
  lines.push([
    "pulls",
    `${config.imagePull} (images.pull) from ${config.imageRegistries.join(", ")}${config.allowIdReferences ? "; image ids accepted" : ""}`,
  ]);
  return lines;
}

function render(lines: Line[]): string {
  return lines.map(([label, text]) => `  ${label.padEnd(13)}${text}\n`).join("");
}

export async function planCommand(args: string[], context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string" }, principal: { type: "string" }, group: { type: "string", multiple: true } },
    strict: true,
  });
  const path = configPathOf(values.config, context.env);
  const config = loadCliConfig(context, path);
  if (!config) return EXIT.invalid;
  const groups = values.group ?? [];
  const effective =
    values.principal !== undefined || groups.length > 0 ? effectivePolicyLines(config, values.principal, groups) : [];
  context.out(
    `Plan for ${describeSource(path, context.env)} (nothing is created now):\n${render([...hostLines(config), ...effective])}`,
  );
  const probe = new DockerDeploymentProbe(config.dockerHost, createLogger("silent"));
  try {
    await probe.ping();
  } catch (error) {
    context.err(
      `  ✗ docker: the engine at "${config.dockerHost ?? "Docker's default endpoint"}" does not answer: ${asControlPlaneError(error).message}\n`,
    );
    return EXIT.dockerUnreachable;
  }
  try {
    context.out(render([...(await dockerLines(config, probe)), ...(await garbageLines(config))]));
    return EXIT.ok;
  } catch (error) {
    context.err(`  ✗ ${asControlPlaneError(error).message}\n`);
    return EXIT.invalid;
  }
}
