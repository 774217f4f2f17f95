import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../test/docker-cleanup.js";
import { follow, freePort, LocalRegistry } from "../../test/local-registry.js";
import { createLogger } from "../log.js";
import type { PullProgress } from "./runner-images.js";
import { DockerRuntime } from "./docker-runtime.js";

describe("image pulls: progress from a real registry, failures classified with a hint", () => {
  const suffix = randomBytes(4).toString("hex");
  const runtime = new DockerRuntime(createLogger("silent"), undefined, {
    bundlePath: "/nonexistent/agent.cjs",
    cacheDir: tmpdir(),
  });
  let dir: string;
  let open: LocalRegistry;
  let locked: LocalRegistry;
  const images: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-registry-"));
    open = new LocalRegistry(dir, "open");
    locked = new LocalRegistry(dir, "locked");
    await Promise.all([open.start(false), locked.start(true)]);
  });
  afterAll(async () => {
    open?.stop();
    locked?.stop();
    await Promise.all(
      images.map((image) =>
        docker
          .getImage(image)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  });

  it("pulls a missing image, reporting the download as a fraction that reaches 1", async () => {
    const image = `${open.address}/devhatchery-test/pull-${suffix}:1`;
    images.push(image);
    const context = join(dir, "context");
    await rm(context, { recursive: true, force: true });
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY blob /blob\n");
    // Random content: a layer no other image shares, so removing the image removes it and the pull downloads it.
    await writeFile(join(context, "blob"), randomBytes(4 * 1024 * 1024));
    await follow(await docker.buildImage({ context, src: ["Dockerfile", "blob"] }, { t: image }));
    await follow(await docker.getImage(image).push({ authconfig: { serveraddress: open.address } }));
    await docker.getImage(image).remove({ force: true });

    const progress: PullProgress[] = [];
    expect(await runtime.images.ensure(image, (event) => progress.push(event))).toEqual({
      architecture: "amd64",
      agentVersion: undefined,
    });
    const fractions = progress.flatMap((event) => (event.fraction === undefined ? [] : [event.fraction]));
    expect(fractions.length).toBeGreaterThan(0);
    expect(fractions.every((fraction) => fraction > 0 && fraction <= 1)).toBe(true);
    expect(Math.max(...fractions)).toBe(1);
    expect(progress.map((event) => event.status)).toEqual(expect.arrayContaining(["Downloading", "Pull complete"]));
  });

  it("reports an unknown repository and an unknown tag as IMAGE_NOT_FOUND", async () => {
    for (const image of [
      `${open.address}/devhatchery-test/missing-${suffix}:1`,
      `${open.address}/devhatchery-test/pull-${suffix}:2`,
    ]) {
      await expect(runtime.images.ensure(image)).rejects.toMatchObject({
        code: "IMAGE_NOT_FOUND",
        message:
          `Image "${image}" was not found on registry "${open.address}". ` +
          "Check the repository name and tag, or build the image on the Docker host (`npm run images` builds devhatchery/runner:latest). See the control plane log.",
      });
    }
  });

  it("reports a registry that wants credentials as IMAGE_PULL_FAILED with a docker login hint", async () => {
    const image = `${locked.address}/devhatchery-test/private:1`;
    await expect(runtime.images.ensure(image)).rejects.toMatchObject({
      code: "IMAGE_PULL_FAILED",
      message:
        `Image "${image}" could not be pulled: registry "${locked.address}" requires credentials the Docker host does not have. ` +
        `Run \`docker login ${locked.address}\` on the Docker host, or use a public image. See the control plane log.`,
    });
  });

  it("reports an unreachable registry as IMAGE_PULL_FAILED with a local-image hint", async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const image = `${address}/devhatchery-test/anything:1`;
    await expect(runtime.images.ensure(image)).rejects.toMatchObject({
      code: "IMAGE_PULL_FAILED",
      message:
        `Image "${image}" could not be pulled: registry "${address}" is unreachable from the Docker host. ` +
        "Use an image that is present locally, or ask the operator to prepull it. See the control plane log.",
    });
  });
});
