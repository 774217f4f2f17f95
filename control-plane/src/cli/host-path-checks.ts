import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import type { ControlPlaneConfig } from "../config.js";
import type { ConfigProblem } from "../config/config-error.js";

function kindOf(path: string): "folder" | "file" | "other" | NodeJS.ErrnoException["code"] {
  try {
    const info = statSync(path);
    return info.isDirectory() ? "folder" : info.isFile() ? "file" : "other";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

function expect(problems: ConfigProblem[], where: string, path: string, wanted: "folder" | "file", fix: string): void {
  const found = kindOf(path);
  if (found === wanted) return;
  const what =
    found === "folder" || found === "file" || found === "other"
      ? `is a ${found}, not a ${wanted}`
      : `does not exist (${found})`;
  problems.push({ where, message: `"${path}" ${what}; ${fix}` });
}

/** A folder serve creates (parents included) when missing: there, creatable, or why it cannot be created. */
export type FolderState = { state: "exists" } | { state: "creatable" } | { state: "blocked"; reason: string };

/** Whether `serve` could create `path` like `mkdir -p`: its nearest existing ancestor must be a folder it may write to. */
export function folderState(path: string): FolderState {
  let ancestor = path;
  let found = kindOf(ancestor);
  while ((found === "ENOENT" || found === "ENOTDIR") && dirname(ancestor) !== ancestor) {
    ancestor = dirname(ancestor);
    found = kindOf(ancestor);
  }
  if (found === "file" || found === "other")
    return { state: "blocked", reason: `"${ancestor}" is a ${found}, not a folder` };
  if (found !== "folder") return { state: "blocked", reason: `"${ancestor}" cannot be inspected (${found})` };
  if (ancestor === path) return { state: "exists" };
  try {
    accessSync(ancestor, constants.W_OK | constants.X_OK);
    return { state: "creatable" };
  } catch (error) {
    return { state: "blocked", reason: `"${ancestor}" is not writable (${(error as NodeJS.ErrnoException).code})` };
  }
}

/** The audit log as `validate` reports it: off, a stream, or a file, noting a folder serve will create. */
export function describeAuditLog(auditLog: string | undefined): string {
  if (!auditLog?.startsWith("/")) return auditLog ?? "off";
  return folderState(dirname(auditLog)).state === "creatable"
    ? `${auditLog} (its folder ${dirname(auditLog)} will be created)`
    : auditLog;
}

/**
 * The host paths the configuration refers to that are missing: allowed roots, the agent bundle, and the parents of
 * a state folder and export root the operator chose (serve creates the default ones, parents included), and an audit
 * log folder that is missing and cannot be created (serve creates it, parents included).
 */
export function checkHostPaths(
  config: ControlPlaneConfig,
  defaults: Pick<ControlPlaneConfig, "stateDir" | "exports">,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.allowedRoots.forEach((root, index) =>
    expect(
      problems,
      `allowed_roots[${index}].path`,
      root.hostPath,
      "folder",
      `create the folder or fix the path of alias "${root.alias}"`,
    ),
  );
  if (config.exports.root !== defaults.exports.root && dirname(config.exports.root) !== config.stateDir) {
    expect(
      problems,
      "exports.root",
      dirname(config.exports.root),
      "folder",
      `create the parent folder of the export root "${config.exports.root}" or choose another root`,
    );
  }
  if (config.stateDir !== defaults.stateDir) {
    expect(
      problems,
      "state.dir",
      dirname(config.stateDir),
      "folder",
      `create the parent folder of the state folder "${config.stateDir}" or choose another one`,
    );
  }
  expect(
    problems,
    "agent.bundle",
    config.agent.bundlePath,
    "file",
    "build it with `npm run build`, or point agent.bundle at agent.cjs",
  );
  if (config.auditLog?.startsWith("/")) {
    const folder = folderState(dirname(config.auditLog));
    if (folder.state === "blocked") {
      problems.push({
        where: "log.audit",
        message: `the folder of the audit log "${config.auditLog}" cannot be created: ${folder.reason}; choose another path or create the folder`,
      });
    }
  }
  return problems;
}
