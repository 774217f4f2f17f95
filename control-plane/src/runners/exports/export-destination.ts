import { mkdir, realpath } from "node:fs/promises";
import { join, posix } from "node:path";
import { ControlPlaneError } from "../../errors.js";
import { AnchoredDirectory } from "../mounts/anchored-directory.js";
import { isInsidePath, relativeSubpath } from "../mounts/host-path.js";
import type { MountPolicy } from "../mounts/mount-policy.js";
import type { HostBind } from "../../runtime/runner-container-spec.js";

/** Where an export goes: the caller's folder in the export root, or a folder under a runner's read-write mount. */
export interface ExportDestination {
  kind: "export_root" | "mount";
  folder: AnchoredDirectory;
  /** The folder as the runner sees it, for a mount. */
  runnerPath: string | undefined;
}

export const EXPORT_ROOT_DESTINATION = "export_root";

/** The caller's own folder in the export root (created on first export); principals never share one. */
export async function exportRootFolder(exportRoot: string, principal: string): Promise<AnchoredDirectory> {
  const folder = join(exportRoot, principal);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const rootReal = await realpath(exportRoot);
  return AnchoredDirectory.open(await realpath(folder), rootReal, "export folder");
}

/**
 * The host folder behind `runnerPath`: it must lie under one of the runner's read-write mounts of an alias that
 * allows rw, and stay inside that mount's host folder with every symlink resolved.
 */
export async function mountFolder(
  runnerPath: string,
  binds: HostBind[],
  policy: MountPolicy,
): Promise<AnchoredDirectory> {
  if (!runnerPath.startsWith("/")) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The destination "${runnerPath}" must be "${EXPORT_ROOT_DESTINATION}" or an absolute folder under one of the runner's read-write mounts, e.g. "/export/out".`,
    );
  }
  if (runnerPath.split("/").includes("..")) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The destination "${runnerPath}" has a ".." component; name the folder under the mount directly.`,
    );
  }
  const normalized = posix.normalize(runnerPath).replace(/(.)\/$/, "$1");
  const bind = binds
    .filter((candidate) => isInsidePath(candidate.target, normalized))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (!bind) {
    const mounts =
      binds
        .map((candidate) => `"${candidate.target}"`)
        .sort()
        .join(", ") || "none";
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The destination "${runnerPath}" is not under a mount of this runner (its mounts: ${mounts}); spawn the runner with a read-write mount, or use "${EXPORT_ROOT_DESTINATION}".`,
    );
  }
  const root = await policy.rootHolding(bind.source);
  if (bind.readOnly || !root?.allowRw) {
    throw new ControlPlaneError(
      "PERMISSION_DENIED",
      `The mount "${bind.target}" is read-only, so nothing can be exported into it; export to "${EXPORT_ROOT_DESTINATION}", or spawn a runner with the alias mounted mode "rw" (the alias must allow it).`,
      {
        hint: `Call export_create again with destination "${EXPORT_ROOT_DESTINATION}" (your export folder), or into a mount runner_spawn made with mode "rw".`,
      },
    );
  }
  const host = join(
    bind.source,
    relativeSubpath(
      `destination below mount "${bind.target}"`,
      normalized.slice(bind.target.length).replace(/^\//, ""),
    ),
  );
  const real = await realpath(host).catch((error: unknown) => {
    throw new ControlPlaneError(
      "NOT_FOUND",
      `The destination folder "${normalized}" does not exist; create it with fs_mkdir first.`,
      {
        cause: error,
        hint: `fs_mkdir creates "${normalized}" in the runner (parents: true for a deeper path); then call export_create again.`,
      },
    );
  });
  if (!isInsidePath(bind.source, real)) {
    throw new ControlPlaneError(
      "PERMISSION_DENIED",
      `The destination "${normalized}" resolves (through a symlink) outside the mount "${bind.target}"; name a real folder inside the mount.`,
    );
  }
  return AnchoredDirectory.open(real, bind.source, "destination folder");
}
