import { readFileSync } from "node:fs";
import { AgentError } from "../errors.js";

const MAX_USER_WATCHES = "/proc/sys/fs/inotify/max_user_watches";
const MAX_USER_INSTANCES = "/proc/sys/fs/inotify/max_user_instances";
// The same limits as seen from the agent's user namespace (equal to the above unless the agent runs in one).
const NAMESPACED_WATCHES = "/proc/sys/user/max_inotify_watches";
const NAMESPACED_INSTANCES = "/proc/sys/user/max_inotify_instances";

/**
 * The agent's inotify watches, one per watched directory, counted across all watches. The agent's own cap keeps
 * one runner from spending the kernel's per-user budget, which every container of the same user on the host shares.
 */
export class WatcherBudget {
  private used = 0;

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes one watch for `directory`, or throws RESOURCE_EXHAUSTED naming the agent's cap. */
  acquire(directory: string): void {
    if (this.used >= this.max) {
      throw new AgentError(
        "RESOURCE_EXHAUSTED",
        `Cannot watch "${directory}": the agent's limit of ${this.max} watched directories is reached (one inotify watch each, across all watches). ` +
          "Narrow the path, add ignore patterns for large generated directories, or close watches you no longer need.",
      );
    }
    this.used += 1;
  }

  release(): void {
    this.used -= 1;
  }
}

/** Is `error` the kernel refusing another inotify watch (ENOSPC) or instance (EMFILE)? */
export function isInotifyLimit(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EMFILE";
}

/** The RESOURCE_EXHAUSTED error for a kernel inotify limit, naming the limit, its current value and the fixes. */
export function inotifyLimitError(error: unknown, directory: string): AgentError {
  if ((error as NodeJS.ErrnoException).code === "EMFILE") {
    return new AgentError(
      "RESOURCE_EXHAUSTED",
      `Cannot watch "${directory}": the kernel's inotify instance limit is reached (fs.inotify.max_user_instances = ${readLimit(NAMESPACED_INSTANCES, MAX_USER_INSTANCES)}, ${MAX_USER_INSTANCES}). ` +
        "Stop other programs that watch files in this runner, or raise the limit on the Docker host: sysctl fs.inotify.max_user_instances=1024.",
      { cause: error },
    );
  }
  return new AgentError(
    "RESOURCE_EXHAUSTED",
    `Cannot watch "${directory}": the kernel's inotify watch limit is reached (fs.inotify.max_user_watches = ${readLimit(NAMESPACED_WATCHES, MAX_USER_WATCHES)}, ${MAX_USER_WATCHES}; ` +
      "shared by every process of the same user on the host, containers included). Narrow the path, add ignore patterns for large generated " +
      "directories, or raise the limit on the Docker host: sysctl fs.inotify.max_user_watches=524288.",
    { cause: error },
  );
}

function readLimit(...paths: string[]): string {
  for (const path of paths) {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      // Try the next place the limit may be read from.
    }
  }
  return "unknown";
}
