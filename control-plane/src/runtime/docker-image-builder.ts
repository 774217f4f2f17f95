import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { createDockerClient } from "./docker-client.js";
import { createDockerErrors, type DockerErrors } from "./docker-errors.js";
import { createTarArchive, type TarEntry } from "./tar-archive.js";

/** What `devhatchery images build` builds: the agent layer image, then the runner image on top of a base image. */
export interface RunnerImageBuild {
  runnerTag: string;
  agentTag: string;
  /** BASE_IMAGE of images/runner/Dockerfile. */
  baseImage: string;
  /** NODE_IMAGE of images/agent/Dockerfile: an image with Node 24 at /usr/local/bin/node. */
  nodeImage: string;
  agentVersion: string;
  /** The agent bundle's folder (agent.cjs and its native addons), the agent layer's build context. */
  agentDir: string;
  /** The repository's images/ folder (agent/Dockerfile, runner/Dockerfile). */
  imagesDir: string;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  aux?: { ID?: string };
}

/** Builds images with the engine's own (legacy) builder through the API: no docker CLI, no buildx, nothing pulled that is local. */
export class DockerImageBuilder {
  private readonly docker: Docker;
  private readonly errors: DockerErrors;

  constructor(dockerHost: string | undefined, log: Logger) {
    this.docker = createDockerClient(dockerHost);
    this.errors = createDockerErrors(log);
  }

  /** Builds both images; `onStep` receives each build step ("Step 2/6 : COPY …") as it starts. Returns the runner image id. */
  async buildRunnerImage(build: RunnerImageBuild, onStep: (line: string) => void): Promise<string> {
    const addons = (await readdir(build.agentDir)).filter((name) => name.endsWith(".node")).sort();
    const agentContext = [
      await this.file("Dockerfile", join(build.imagesDir, "agent", "Dockerfile")),
      await this.file("agent.cjs", join(build.agentDir, "agent.cjs")),
      ...(await Promise.all(addons.map((name) => this.file(name, join(build.agentDir, name))))),
    ];
    onStep(`agent layer ${build.agentTag} (node from ${build.nodeImage})`);
    await this.build(
      build.agentTag,
      agentContext,
      { NODE_IMAGE: build.nodeImage, AGENT_VERSION: build.agentVersion },
      onStep,
    );
    onStep(`runner ${build.runnerTag} (base ${build.baseImage})`);
    const runnerContext = [await this.file("Dockerfile", join(build.imagesDir, "runner", "Dockerfile"))];
    return this.build(
      build.runnerTag,
      runnerContext,
      { AGENT_IMAGE: build.agentTag, BASE_IMAGE: build.baseImage, AGENT_VERSION: build.agentVersion },
      onStep,
    );
  }

  private async file(path: string, source: string): Promise<TarEntry> {
    try {
      return { type: "file", path, mode: 0o644, content: await readFile(source) };
    } catch (error) {
      throw new ControlPlaneError(
        "FAILED_PRECONDITION",
        `Cannot build the runner image: "${source}" cannot be read (${(error as NodeJS.ErrnoException).code}); run \`npm run build\` in the repository first.`,
        { cause: error },
      );
    }
  }

  private async build(
    tag: string,
    context: TarEntry[],
    buildargs: Record<string, string>,
    onStep: (line: string) => void,
  ): Promise<string> {
    const stream = await this.errors.call(`build image "${tag}"`, () =>
      this.docker.buildImage(createTarArchive(context) as unknown as NodeJS.ReadableStream, {
        t: tag,
        buildargs,
        rm: true,
        forcerm: true,
      }),
    );
    let imageId = "";
    let failure: string | undefined;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(this.errors.wrap(error, `build image "${tag}"`)) : resolve()),
        (event: BuildEvent) => {
          if (event.error) failure = event.error.trim();
          if (event.aux?.ID) imageId = event.aux.ID;
          const line = event.stream?.trim();
          if (line?.startsWith("Step ")) onStep(line);
        },
      );
    });
    if (failure !== undefined) {
      throw new ControlPlaneError(
        "FAILED_PRECONDITION",
        `Building image "${tag}" failed: ${failure}. Check that the base and Node images exist locally (\`docker image ls\`) or can be pulled; pass others with --base and --node-source.`,
      );
    }
    return imageId;
  }
}
