import Docker from "dockerode";

const docker = new Docker();

/** Removes every container and network labelled as created for `principalPrefix` tests; safe to call twice. */
export async function removeTestRunners(principals: string[], network?: string): Promise<void> {
  for (const principal of principals) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`io.devhatchery.owner=${principal}`] } });
    await Promise.all(containers.map((info) => docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined)));
  }
  if (network) await docker.getNetwork(network).remove().catch(() => undefined);
}

export async function countRunners(principal: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`io.devhatchery.owner=${principal}`] } })).length;
}

export { docker };
