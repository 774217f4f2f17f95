import { posix } from "node:path";
import { RUNNER_WORK_DIR } from "../../runners/files/runner-path.js";
import { parseFileUri } from "../resources/resource-uris.js";

/** A root as the client declared it (roots/list). */
export interface ClientRoot {
  uri: string;
  name?: string | undefined;
}

/**
 * What a root names: a folder of one runner (`devhatchery://runners/{runner}/files/...`), a folder inside every
 * runner (`file:///work/...`), or a workspace (`devhatchery://workspaces/{key}`, kept for when workspaces exist).
 * Other roots (a client's own local folders, `file:///home/me/project`) name nothing inside runners.
 */
export type RootTarget =
  | { kind: "runner-folder"; runnerId: string; path: string }
  | { kind: "folder"; path: string }
  | { kind: "workspace"; workspaceKey: string }
  | { kind: "other" };

const WORKSPACE_ROOT = /^devhatchery:\/\/workspaces\/([^/?#]+)\/?$/;

export function parseRoot(uri: string): RootTarget {
  const runnerFolder = parseFileUri(uri);
  if (runnerFolder) return { kind: "runner-folder", runnerId: runnerFolder.runnerId, path: runnerFolder.path };
  const workspace = WORKSPACE_ROOT.exec(uri);
  if (workspace?.[1]) return { kind: "workspace", workspaceKey: decodeURIComponent(workspace[1]) };
  if (uri.startsWith("file://")) {
    try {
      const path = posix.normalize(decodeURIComponent(new URL(uri).pathname));
      if (isWithin(path, RUNNER_WORK_DIR)) return { kind: "folder", path };
    } catch {
      return { kind: "other" };
    }
  }
  return { kind: "other" };
}

/** The folders the roots name inside `runnerId`, in the roots' order; none when no root applies to it. */
export function rootFoldersFor(roots: readonly ClientRoot[], runnerId: string): string[] {
  const folders: string[] = [];
  for (const root of roots) {
    const target = parseRoot(root.uri);
    if (target.kind === "folder" || (target.kind === "runner-folder" && target.runnerId === runnerId)) {
      if (!folders.includes(target.path)) folders.push(target.path);
    }
  }
  return folders;
}

/**
 * The folders whose files `resources/list` shows for `runnerId`: those the roots name in it, or /work when no
 * root names a folder in any runner (no roots, or only roots outside runners). Empty when roots name folders in
 * other runners only.
 */
export function listingFoldersFor(roots: readonly ClientRoot[], runnerId: string): string[] {
  const namesRunnerFolders = roots.some((root) => ["folder", "runner-folder"].includes(parseRoot(root.uri).kind));
  return namesRunnerFolders ? rootFoldersFor(roots, runnerId) : [RUNNER_WORK_DIR];
}

/**
 * Resolves a path a client named for a runner: an absolute path is kept (there is no allow-list inside a
 * runner), a relative one resolves against the first root naming a folder in that runner, else against /work.
 */
export function resolveAgainstRoots(roots: readonly ClientRoot[], runnerId: string, path: string): string {
  if (path.startsWith("/")) return posix.normalize(path);
  return posix.resolve(rootFoldersFor(roots, runnerId)[0] ?? RUNNER_WORK_DIR, path);
}

/** True when `path` is `folder` or inside it. */
export function isWithin(path: string, folder: string): boolean {
  return folder === "/" || path === folder || path.startsWith(`${folder.replace(/\/$/, "")}/`);
}
