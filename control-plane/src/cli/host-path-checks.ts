import { statSync } from "node:fs";
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
  const what = found === "folder" || found === "file" || found === "other" ? `is a ${found}, not a ${wanted}` : `does not exist (${found})`;
  problems.push({ where, message: `"${path}" ${what}; ${fix}` });
}

/**
 * The host paths the configuration refers to that are missing: allowed roots, the agent bundle, and the parents of
 * a state folder and export root the operator chose (serve creates the default ones, parents included).
 */
export function checkHostPaths(config: ControlPlaneConfig, defaults: Pick<ControlPlaneConfig, "stateDir" | "exports">): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.allowedRoots.forEach((root, index) =>
    expect(problems, `allowed_roots[${index}].path`, root.hostPath, "folder", `create the folder or fix the path of alias "${root.alias}"`),
  );
  if (config.exports.root !== defaults.exports.root && dirname(config.exports.root) !== config.stateDir) {
    expect(problems, "exports.root", dirname(config.exports.root), "folder", `create the parent folder of the export root "${config.exports.root}" or choose another root`);
  }
  if (config.stateDir !== defaults.stateDir) {
    expect(problems, "state.dir", dirname(config.stateDir), "folder", `create the parent folder of the state folder "${config.stateDir}" or choose another one`);
  }
  expect(problems, "agent.bundle", config.agent.bundlePath, "file", "build it with `npm run build`, or point agent.bundle at agent.cjs");
  if (config.auditLog?.startsWith("/")) {
    expect(problems, "log.audit", dirname(config.auditLog), "folder", "create the folder of the audit log or choose another path");
  }
  return problems;
}
