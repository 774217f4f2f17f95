import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";

const docker = new Docker();

/** Removes every container and workspace volume of these test principals, and the network; safe to call twice. */
export async function removeTestRunners(principals: string[], network?: string): Promise<void> {
  for (const principal of principals) {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.owner=${principal}`] },
    });
    await Promise.all(
      containers.map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
  }
  await removeTestWorkspaces(principals);
  await removeTestSnapshots(principals);
  if (network) {
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    await docker
      .getNetwork(`${network}-offline`)
      .remove()
      .catch(() => undefined);
  }
}

/** Removes the workspace volumes (runners' /work) of these test principals; their runners must be gone first. */
export async function removeTestWorkspaces(principals: string[]): Promise<void> {
  for (const principal of principals) {
    const { Volumes: volumes } = await docker.listVolumes({
      filters: { label: [`io.devhatchery.owner=${principal}`, "io.devhatchery.kind=workspace"] },
    });
    await Promise.all(
      (volumes ?? []).map((volume) =>
        docker
          .getVolume(volume.Name)
          .remove()
          .catch(() => undefined),
      ),
    );
  }
}

/** Removes the snapshot images of these test principals (forcefully: newest first, so later snapshots go before their bases). */
export async function removeTestSnapshots(principals: string[]): Promise<void> {
  for (const principal of principals) {
    const images = await docker.listImages({
      all: true,
      filters: { label: [`io.devhatchery.owner=${principal}`, "io.devhatchery.kind=snapshot"] },
    });
    for (const image of images.sort((a, b) => b.Created - a.Created))
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
  }
}

export async function countRunners(principal: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`io.devhatchery.owner=${principal}`] } })).length;
}

/** Builds a tiny image `FROM base` whose main process runs the shell `script` instead of an agent. */
export async function buildImpostorImage(tag: string, base: string, script: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "devhatchery-impostor-"));
  try {
    await writeFile(join(dir, "Dockerfile"), `FROM ${base}\nCMD ${JSON.stringify(["sh", "-c", script])}\n`);
    const stream = await docker.buildImage({ context: dir, src: ["Dockerfile"] }, { t: tag });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export { docker };
