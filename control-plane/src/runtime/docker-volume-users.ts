import type Docker from "dockerode";
import type { DockerErrors } from "./docker-errors.js";
import { LABEL } from "./labels.js";

/** Volume name → the runner ids (or, for other containers, names) of every container, running or not, that mounts it. */
export async function volumeUsers(
  docker: Docker,
  errors: DockerErrors,
  names: string[],
  what: string,
): Promise<Map<string, string[]>> {
  const containers = await errors.call(`list the containers using ${what}`, () =>
    docker.listContainers({ all: true, filters: { volume: names } }),
  );
  const users = new Map<string, string[]>(names.map((name) => [name, []]));
  for (const container of containers) {
    const user = container.Labels[LABEL.runner] ?? container.Names[0]?.replace(/^\//, "") ?? container.Id;
    for (const mount of container.Mounts) if (mount.Name) users.get(mount.Name)?.push(user);
  }
  return users;
}
