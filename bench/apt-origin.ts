import { imageSources, repositorySource, type AptSource } from "./apt-install.ts";
import { buildAptRepository, serveAptRepository } from "./apt-repository.ts";
import type { McpFixture } from "./mcp-fixture.ts";

/** Where runners install from, attached to one control plane's runner network. */
export interface AptOriginAttached {
  source: AptSource;
  /** Throws unless every package file was fetched from the origin once (the second runner's came from the cache). */
  assertFetchedOnce(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Debian's archive (full run), or a repository built and served by this process (smoke: no internet). */
export interface AptOrigin {
  what: string;
  attach(fixture: McpFixture): Promise<AptOriginAttached>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `packages` from the image's own sources: Debian's archive over http (the internet). */
export function debianArchive(packages: string[]): AptOrigin {
  const attached: AptOriginAttached = {
    source: imageSources(packages),
    assertFetchedOnce: () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  };
  return {
    what: `\`${packages.join(" ")}\` from the image's sources (\`deb http://deb.debian.org/debian bookworm main\`, the real archive)`,
    attach: async () => attached,
    [Symbol.asyncDispose]: async () => undefined,
  };
}

/** The gateway address of the fixture's runner network, which its first spawn makes: one runner is spawned and removed. */
async function gatewayOf(fixture: McpFixture, image: string): Promise<string> {
  const runner = (await fixture.call("runner_spawn", { image, storage: "tmpfs" })).runner_id as string;
  await fixture.call("runner_remove", { runner });
  const info = (await fixture.docker.getNetwork(fixture.network).inspect()) as {
    IPAM?: { Config?: Array<{ Gateway?: string }> };
  };
  const gateway = info.IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new Error(`network "${fixture.network}" has no gateway address`);
  return gateway;
}

/**
 * `count` packages of `payloadBytes` each from a repository this process builds and serves on each runner network's
 * gateway address (no internet); `image` is spawned once per control plane to make its network.
 */
export async function localRepository(image: string, count: number, payloadBytes: number): Promise<AptOrigin> {
  const repository = await buildAptRepository(count, payloadBytes);
  return {
    what:
      `${count} packages of ${payloadBytes / 1024} KiB (random) from a repository built with dpkg-deb and served by ` +
      "the bench on the runner network's gateway address",
    async attach(fixture) {
      const server = await serveAptRepository(repository, await gatewayOf(fixture, image));
      return {
        source: repositorySource(server.url, repository.packages),
        assertFetchedOnce() {
          const counts = repository.debs.map((deb) => `${deb}: ${server.served(deb)}`);
          if (repository.debs.some((deb) => server.served(deb) !== 1))
            throw new Error(
              `the repository served its package files other than once for both runners: ${counts.join(", ")}`,
            );
        },
        [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
      };
    },
    [Symbol.asyncDispose]: () => repository[Symbol.asyncDispose](),
  };
}
