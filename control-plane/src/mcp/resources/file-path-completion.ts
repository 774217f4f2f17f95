import { posix } from "node:path";
import { RUNNER_WORK_DIR } from "../../runners/files/runner-path.js";
import type { ToolDeps } from "../tool-deps.js";

/** Entries a path completion offers at most (the protocol's limit per answer). */
const COMPLETION_LIMIT = 100;
/** Entries of the directory looked at. */
const LISTING_LIMIT = 1000;

/**
 * Completes the `{+path}` of a file URI (an absolute path without its leading "/") by listing the directory the
 * value ends in; directories end with "/". An empty value lists the first root folder of the runner. Nothing
 * without a runner, or when the directory cannot be listed: completion is a hint, never an error.
 */
export async function completeFilePath(deps: ToolDeps, runnerId: string | undefined, value: string): Promise<string[]> {
  if (!runnerId) return [];
  try {
    const typed = safeDecode(value);
    const directory =
      typed === ""
        ? ((await deps.roots.listingFoldersFor(runnerId))[0] ?? RUNNER_WORK_DIR)
        : posix.dirname(`/${typed}x`);
    const prefix = typed === "" ? "" : posix.basename(`/${typed}x`).slice(0, -1);
    const listing = await deps.files.list(deps.principal, runnerId, directory, LISTING_LIMIT, 1);
    return listing.entries
      .filter((entry) => entry.name.startsWith(prefix))
      .map((entry) => `${entry.path.slice(1)}${entry.type === "directory" ? "/" : ""}`)
      .slice(0, COMPLETION_LIMIT);
  } catch (error) {
    deps.log.debug({ err: error, runner: runnerId, value }, "path completion failed");
    return [];
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
