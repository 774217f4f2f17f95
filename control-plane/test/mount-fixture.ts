import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MountPolicy } from "../src/runners/mounts/mount-policy.js";
import type { RunnerServiceOptions } from "../src/runners/runner-service.js";
import { createRunnerServiceFixture, DEBIAN_IMAGE, type RunnerServiceFixture } from "./runner-service-fixture.js";

/** Host folders for a mount test: each alias on `base/<alias>` (read-write allowed), and what else lies under base. */
export interface MountLayout {
  aliases: string[];
  /** Files by path under base, with their folders. */
  files?: Record<string, string>;
  /** More (empty) folders under base. */
  folders?: string[];
}

/** Alias "shared" with `shared/sub/marker` ("inside"), and `outside/marker` ("outside") beyond every alias root. */
export const SHARED_AND_OUTSIDE: MountLayout = {
  aliases: ["shared"],
  files: { "shared/sub/marker": "inside\n", "outside/marker": "outside\n" },
};

/** A RunnerService fixture whose mount policy allows the aliases of a temporary folder; cleanup removes that folder too. */
export interface MountFixture extends RunnerServiceFixture {
  /** The temporary folder holding the layout. */
  base: string;
  policy: MountPolicy;
}

/**
 * Lays out `layout` in a fresh temporary folder and starts a RunnerService mounting from it. Runners default to
 * DEBIAN_IMAGE, so they get this build's agent injected (the mount checks need an agent that reports device and inode).
 * `name` goes into the folder's and the network's names.
 */
export async function createMountFixture(
  name: string,
  layout: MountLayout = SHARED_AND_OUTSIDE,
  options: Partial<RunnerServiceOptions> = {},
): Promise<MountFixture> {
  const base = await mkdtemp(join(tmpdir(), `devhatchery-${name}-`));
  try {
    for (const folder of [...layout.aliases, ...(layout.folders ?? [])])
      await mkdir(join(base, folder), { recursive: true });
    for (const [path, content] of Object.entries(layout.files ?? {})) {
      await mkdir(dirname(join(base, path)), { recursive: true });
      await writeFile(join(base, path), content);
    }
    const policy = new MountPolicy(
      layout.aliases.map((alias) => ({ alias, hostPath: join(base, alias), allowRw: true })),
    );
    const fixture = await createRunnerServiceFixture(
      { defaultImage: DEBIAN_IMAGE, readyTimeoutMs: 30_000, mountPolicy: policy, ...options },
      name,
    );
    return {
      ...fixture,
      base,
      policy,
      async cleanup() {
        await fixture.cleanup();
        await rm(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(base, { recursive: true, force: true });
    throw error;
  }
}
