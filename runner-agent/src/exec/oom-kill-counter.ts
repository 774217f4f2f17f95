import { readFile } from "node:fs/promises";

/** How many processes the kernel's OOM killer has ended so far; undefined where no counter is readable. */
export type OomKillCounter = () => Promise<number | undefined>;

const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * Reads `oom_kill` from memory.events (cgroup v2) or memory.oom_control (v1) of this runner's memory cgroup. Inside a
 * container that cgroup is the root of the cgroup mount; the agent's own cgroup path is tried first for agents
 * running outside one.
 */
export function createOomKillCounter(root = CGROUP_ROOT): OomKillCounter {
  let files: Promise<string[]> | undefined;
  return async () => {
    files ??= candidateFiles(root);
    for (const file of await files) {
      const count = await readOomKills(file);
      if (count !== undefined) return count;
    }
    return undefined;
  };
}

async function candidateFiles(root: string): Promise<string[]> {
  const own = await readFile("/proc/self/cgroup", "utf8").catch(() => "");
  const v2Path = /^0::(.*)$/m.exec(own)?.[1];
  const v1Path = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(own)?.[1];
  return [
    ...(v2Path && v2Path !== "/" ? [`${root}${v2Path}/memory.events`] : []),
    `${root}/memory.events`,
    ...(v1Path && v1Path !== "/" ? [`${root}/memory${v1Path}/memory.oom_control`] : []),
    `${root}/memory/memory.oom_control`,
  ];
}

async function readOomKills(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  const match = text === undefined ? null : /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}
