import type Docker from "dockerode";

const AGENT_VOLUME_FILTER = { label: ["io.devhatchery.kind=agent"] };

/** Names of the agent volumes (injected delivery) that exist now. */
export async function listAgentVolumes(docker: Docker): Promise<Set<string>> {
  const { Volumes: volumes } = await docker.listVolumes({ filters: AGENT_VOLUME_FILTER });
  return new Set((volumes ?? []).map((volume) => volume.Name));
}

/**
 * Removes the agent volumes created since `before` (with the helper containers that lock or fill them). A volume a
 * runner still uses is left alone: Docker refuses, and it is someone else's.
 */
export async function removeAgentVolumesSince(docker: Docker, before: Set<string>): Promise<void> {
  for (const name of await listAgentVolumes(docker)) {
    if (before.has(name)) continue;
    const helpers = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.agent.volume=${name}`] },
    });
    await Promise.all(
      helpers.map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    await docker
      .getVolume(name)
      .remove()
      .catch(() => undefined);
  }
}
