import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker } from "./docker-cleanup.js";

export interface TestImageBuild {
  tag: string;
  /** A build context directory, or the text of a Dockerfile to build with an empty context. */
  context: { dir: string } | { dockerfile: string };
  buildArgs?: Record<string, string>;
}

/** Builds an image with the engine's legacy builder (no pulls: every base must be local); rejects with the build log. */
export async function buildTestImage(build: TestImageBuild): Promise<void> {
  const dir = "dir" in build.context ? build.context.dir : await mkdtemp(join(tmpdir(), "devhatchery-image-"));
  try {
    if ("dockerfile" in build.context) await writeFile(join(dir, "Dockerfile"), build.context.dockerfile);
    const stream = await docker.buildImage(
      { context: dir, src: await readdir(dir) },
      { t: build.tag, buildargs: build.buildArgs ?? {} },
    );
    const events = await new Promise<Array<{ stream?: string; error?: string }>>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, output: Array<{ stream?: string; error?: string }>) =>
        error ? reject(error) : resolve(output),
      ),
    );
    const failure = events.find((event) => event.error);
    if (failure) {
      const log = events.map((event) => event.stream ?? event.error ?? "").join("");
      throw new Error(`Building "${build.tag}" failed: ${failure.error}\n${log}`);
    }
  } finally {
    if ("dockerfile" in build.context) await rm(dir, { recursive: true, force: true });
  }
}
