import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ControlPlaneConfig } from "../config.js";
import { asControlPlaneError } from "../errors.js";
import { createLogger } from "../log.js";
import { DockerDeploymentProbe } from "../runtime/docker-deployment-probe.js";
import type { CliContext } from "./cli-context.js";
import { baseUrlOf, configPathOf, describeSource, loadCliConfig } from "./cli-config.js";
import { EXIT } from "./exit-codes.js";

export const PLAN_HELP = `Usage: devhatchery plan [--config PATH]

Shows what \`devhatchery serve\` would use and create with this configuration, without creating anything: the runner
networks, the agent volume for the default image, the images to prepull, the state file, the export root, the listen
URL and the auth mode (tokens are never printed).

Options:
  --config PATH   the config file (default: DEVHATCHERY_CONFIG, else the embedded defaults)
  --help          show this help

Exit codes: 0 done, 1 invalid configuration, 2 Docker unreachable (the host side is still shown).
`;

type Line = [label: string, text: string];

/** `docker info` names the engine's architecture like `uname -m`; images (and `plan`) use Docker's image names. */
const IMAGE_ARCHITECTURE: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

/** An architecture in Docker's image words (amd64, arm64), whether it came from an image or from `docker info`. */
export function imageArchitecture(architecture: string): string {
  return IMAGE_ARCHITECTURE[architecture] ?? architecture;
}

function hostLines(config: ControlPlaneConfig): Line[] {
  const state = join(config.stateDir, "state.db");
  const auth =
    config.auth.mode === "bearer"
      ? `bearer, principals ${[...new Set(config.auth.tokens.map((token) => token.principal))].join(", ")}`
      : "none (one local principal)";
  return [
    ["listen", `${baseUrlOf(config)}/mcp, auth ${auth}`],
    ["state", `${state}: ${existsSync(state) ? "exists" : "would be created (folder mode 0700)"}`],
    ["exports", `${config.exports.root}: ${existsSync(config.exports.root) ? "exists" : "would be created"}`],
    ["audit log", config.auditLog ?? "off"],
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
  const { values } = parseArgs({ args, options: { config: { type: "string" } }, strict: true });
  const path = configPathOf(values.config, context.env);
  const config = loadCliConfig(context, path);
  if (!config) return EXIT.invalid;
  context.out(`Plan for ${describeSource(path, context.env)} (nothing is created now):\n${render(hostLines(config))}`);
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
    context.out(render(await dockerLines(config, probe)));
    return EXIT.ok;
  } catch (error) {
    context.err(`  ✗ ${asControlPlaneError(error).message}\n`);
    return EXIT.invalid;
  }
}
