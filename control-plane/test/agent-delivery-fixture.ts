import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_AGENT_BUNDLE } from "../src/config.js";
import type { AgentDeliveryOptions } from "../src/runtime/docker-runtime.js";
import { docker } from "./docker-cleanup.js";

/** Injected-delivery settings of one test file: its own agent version (so its volumes are its own) and Node cache. */
export interface AgentDeliveryFixture {
  /** Settings for a DockerRuntime; `version` names a fresh set of agent volumes. */
  options(version?: string): AgentDeliveryOptions;
  /** Removes every agent volume (and helper container) of the versions handed out, and the Node cache. */
  cleanup(): Promise<void>;
}

export async function createAgentDeliveryFixture(suffix: string): Promise<AgentDeliveryFixture> {
  const cacheDir = await mkdtemp(join(tmpdir(), "devhatchery-agent-cache-"));
  const versions = new Set<string>();
  return {
    options(version = `0.0.0-test.${suffix}`) {
      versions.add(version);
      return { bundlePath: DEFAULT_AGENT_BUNDLE, cacheDir, version };
    },
    async cleanup() {
      for (const version of versions) await removeAgentVolumes(version);
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/** Removes the agent volumes labelled with `version`, after the containers that use or lock them. */
export async function removeAgentVolumes(version: string): Promise<void> {
  await Promise.all(
    (await agentHelperNames(version)).map((name) =>
      docker
        .getContainer(name)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const { Volumes: volumes } = await docker.listVolumes({
    filters: { label: [`io.devhatchery.agent.version=${version}`] },
  });
  for (const volume of volumes ?? []) {
    const users = await docker.listContainers({ all: true, filters: { volume: [volume.Name] } });
    const helpers = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.agent.volume=${volume.Name}`] },
    });
    await Promise.all(
      [...users, ...helpers].map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch(() => undefined);
  }
}

/** Names of containers that lock, inspect or fill the agent volumes of `version` and still exist. */
export async function agentHelperNames(version: string): Promise<string[]> {
  const helpers = await docker.listContainers({ all: true, filters: { label: ["io.devhatchery.kind=agent-helper"] } });
  return helpers
    .flatMap((info) => info.Names.map((name) => name.replace(/^\//, "")))
    .filter((name) => name.startsWith(`devhatchery-agent-${version}-`));
}
