import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { asControlPlaneError } from "../errors.js";
import { createLogger } from "../log.js";
import { DockerImageBuilder } from "../runtime/docker-image-builder.js";
import { VERSION } from "../version.js";
import type { CliContext } from "./cli-context.js";
import { configPathOf, loadCliConfig } from "./cli-config.js";
import { EXIT } from "./exit-codes.js";

export const IMAGES_HELP = `Usage: devhatchery images build [--tag TAG] [--agent-tag TAG] [--base IMAGE] [--node-source IMAGE] [--config PATH]

Builds the runner image (images/runner/Dockerfile) with the agent baked in: first the agent layer image
(images/agent/Dockerfile: the agent bundle from \`npm run build\` plus Node 24 from --node-source), then the runner on
top of --base. Uses the engine's own builder (no docker CLI or buildx) and pulls only what is not local.

Options:
  --tag TAG             the runner image (default: devhatchery/runner:latest)
  --agent-tag TAG       the agent layer image (default: devhatchery/agent:latest)
  --base IMAGE          any glibc-based image (default: ubuntu:24.04)
  --node-source IMAGE   an image with Node 24 at /usr/local/bin/node (default: node:24.21.0-bookworm-slim)
  --config PATH         the config file (for docker.host and agent.bundle)
  --help                show this help

Exit codes: 0 built, 1 usage or invalid configuration, 2 Docker unreachable, 4 the build failed.
`;

/** The repository's images/ folder, beside control-plane/ (the same from src/cli and dist/cli). */
const IMAGES_DIR = fileURLToPath(new URL("../../../images/", import.meta.url));

export async function imagesCommand(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      tag: { type: "string" },
      "agent-tag": { type: "string" },
      base: { type: "string" },
      "node-source": { type: "string" },
      config: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || positionals[0] !== "build") {
    context.err(
      `devhatchery images: expected the subcommand "build", got ${positionals.length === 0 ? "none" : `"${positionals.join(" ")}"`}; run \`devhatchery images --help\`.\n`,
    );
    return EXIT.invalid;
  }
  const config = loadCliConfig(context, configPathOf(values.config, context.env));
  if (!config) return EXIT.invalid;
  const runnerTag = values.tag ?? "devhatchery/runner:latest";
  const builder = new DockerImageBuilder(config.dockerHost, createLogger("silent"));
  try {
    const imageId = await builder.buildRunnerImage(
      {
        runnerTag,
        agentTag: values["agent-tag"] ?? "devhatchery/agent:latest",
        baseImage: values.base ?? "ubuntu:24.04",
        nodeImage: values["node-source"] ?? "node:24.21.0-bookworm-slim",
        agentVersion: VERSION,
        agentDir: dirname(config.agent.bundlePath),
        imagesDir: IMAGES_DIR,
      },
      (step) => context.out(`  ${step}\n`),
    );
    context.out(
      `Built ${runnerTag} (${imageId || "no id reported"}). Use it with images.default: ${runnerTag} (or DEVHATCHERY_DEFAULT_IMAGE).\n`,
    );
    return EXIT.ok;
  } catch (error) {
    const failure = asControlPlaneError(error);
    context.err(`devhatchery images build: ${failure.message}\n`);
    return failure.code === "DOCKER_UNAVAILABLE" ? EXIT.dockerUnreachable : EXIT.buildFailed;
  }
}
