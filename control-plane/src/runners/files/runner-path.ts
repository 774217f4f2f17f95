import { posix } from "node:path";
import { ControlPlaneError } from "../../errors.js";

/** Where relative paths point inside a runner: its workspace. */
export const RUNNER_WORK_DIR = "/work";

/**
 * Turns a path a client named into the absolute path inside the runner: relative paths resolve against /work,
 * absolute ones are kept; `.` and `..` are resolved. The one place path resolution happens for file tools.
 */
export function resolveRunnerPath(path: string): string {
  if (path.includes("\0")) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `Path "${path.replaceAll("\0", "\\0")}" contains a NUL byte; remove it from the path.`,
    );
  }
  return posix.resolve(RUNNER_WORK_DIR, path);
}
