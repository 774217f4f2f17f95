import { constants } from "node:fs";
import { lstat, open, readlink, realpath } from "node:fs/promises";
import { join, posix } from "node:path";
import type { AllowedRoot } from "../../config.js";
import { ControlPlaneError } from "../../errors.js";
import type { BindCheck } from "../../runtime/runner-container-spec.js";
import { isInsidePath, relativeSubpath } from "./host-path.js";

/** A runner's request to mount an allowed root (or a folder inside it). */
export interface MountRequest {
  alias: string;
  /** A folder inside the alias root, relative to it; the whole root when empty. */
  subpath?: string | undefined;
  /** Where it appears in the runner: under /export, `/export/<alias>` by default. */
  target?: string | undefined;
  /** `ro` (the default) or `rw`, which the alias must allow. */
  mode?: "ro" | "rw" | undefined;
}

/**
 * A validated bind: the host folder (symlinks resolved), where it goes in the runner, how, and the folder's identity
 * at the check, which the started runner must show (see bind-verification.ts).
 */
export interface RunnerBind {
  alias: string;
  source: string;
  target: string;
  readOnly: boolean;
  check: BindCheck;
}

/** Where mounts appear in a runner. */
export const EXPORT_MOUNT_DIR = "/export";
export const MAX_MOUNTS = 16;

/** The operator's allowed roots: turns mount requests into binds that stay inside them, or refuses with the reason. */
export class MountPolicy {
  private readonly roots: Map<string, AllowedRoot>;

  constructor(roots: AllowedRoot[]) {
    this.roots = new Map(roots.map((root) => [root.alias, root]));
  }

  /** Checks every request (alias, mode, subpath resolved with its symlinks, target) before anything is created. */
  async resolve(requests: MountRequest[]): Promise<RunnerBind[]> {
    if (requests.length > MAX_MOUNTS) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `${requests.length} mounts were asked for; at most ${MAX_MOUNTS} are allowed per runner. Mount a common parent folder instead.`,
      );
    }
    const binds: RunnerBind[] = [];
    for (const request of requests) {
      const bind = await this.resolveOne(request);
      const clash = binds.find((other) => other.target === bind.target);
      if (clash) {
        throw new ControlPlaneError(
          "INVALID_ARGUMENT",
          `Two mounts target "${bind.target}" (aliases "${clash.alias}" and "${bind.alias}"); give each its own target under ${EXPORT_MOUNT_DIR}.`,
        );
      }
      binds.push(bind);
    }
    return binds;
  }

  /** The allowed root whose folder holds `hostPath` (a bind's source), re-resolving the root's symlinks. */
  async rootHolding(hostPath: string): Promise<AllowedRoot | undefined> {
    for (const root of this.roots.values()) {
      const real = await realpath(root.hostPath).catch(() => undefined);
      if (real && isInsidePath(real, hostPath)) return root;
    }
    return undefined;
  }

  private async resolveOne(request: MountRequest): Promise<RunnerBind> {
    const root = this.roots.get(request.alias);
    if (!root) {
      const known = [...this.roots.keys()];
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `Mount alias "${request.alias}" is not an allowed root; ` +
          (known.length > 0
            ? `use one of ${known.map((alias) => `"${alias}"`).join(", ")}.`
            : "this server allows no mounts (the operator sets DEVHATCHERY_ALLOWED_ROOTS)."),
      );
    }
    const mode = request.mode ?? "ro";
    if (mode === "rw" && !root.allowRw) {
      throw new ControlPlaneError(
        "PERMISSION_DENIED",
        `Mount alias "${root.alias}" is read-only; it cannot be mounted "rw". Ask for mode "ro", or ask the operator to allow rw for it.`,
        {
          hint: 'Call runner_spawn again with mode "ro" for this mount; to get files out, export_create writes to your export folder.',
        },
      );
    }
    const subpath = relativeSubpath(`subpath of mount "${root.alias}"`, request.subpath ?? "");
    const rootReal = await realpath(root.hostPath).catch((error: unknown) => {
      throw new ControlPlaneError(
        "FAILED_PRECONDITION",
        `The host folder of mount alias "${root.alias}" is missing or unreadable; ask the operator to create it.`,
        {
          cause: error,
          hint: "Only the operator can create that folder; meanwhile call runner_spawn without this mount.",
        },
      );
    });
    const source = await realpath(join(rootReal, subpath)).catch((error: unknown) => {
      throw new ControlPlaneError(
        "NOT_FOUND",
        `The subpath "${subpath}" does not exist in mount alias "${root.alias}"; name an existing folder (or omit subpath for the whole root).`,
        {
          cause: error,
          hint: "Call runner_spawn again with a subpath that exists in the alias's folder, or without subpath to mount the whole root.",
        },
      );
    });
    if (!isInsidePath(rootReal, source)) {
      throw new ControlPlaneError(
        "PERMISSION_DENIED",
        `The subpath "${subpath}" of mount alias "${root.alias}" resolves (through a symlink) outside the alias root; name a folder inside it.`,
      );
    }
    const checked = await openChecked(source, rootReal, root.alias, subpath);
    return {
      alias: root.alias,
      source: checked.path,
      target: mountTarget(root.alias, request.target),
      readOnly: mode === "ro",
      check: { alias: root.alias, subpath, identity: checked.identity },
    };
  }
}

/**
 * Opens the resolved folder (no symlink as its last part) and reads where the descriptor really is and its
 * `dev:ino`: a swap after realpath() shows here, and the identity is of the folder that was found inside the root.
 */
async function openChecked(
  source: string,
  rootReal: string,
  alias: string,
  subpath: string,
): Promise<{ path: string; identity: string }> {
  const handle = await open(source, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(
    async (error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR also when the path became a symlink since realpath(): that is a change, a file is not.
      const isFile = code === "ENOTDIR" && (await lstat(source).catch(() => undefined))?.isFile();
      if (isFile)
        throw new ControlPlaneError(
          "INVALID_ARGUMENT",
          `The subpath "${subpath}" of mount alias "${alias}" is not a folder; mount the folder that holds it.`,
        );
      throw mountFolderChanged(
        alias,
        subpath,
        "created",
        `it could not be opened as a folder (${code ?? "error"}; it was moved or swapped for a symlink while it was checked)`,
      );
    },
  );
  try {
    const stats = await handle.stat({ bigint: true });
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => "");
    // Anywhere but the resolved path (even inside the root) means it moved between realpath() and open().
    if (opened !== source || !isInsidePath(rootReal, opened))
      throw mountFolderChanged(alias, subpath, "created", "it was moved or swapped for a symlink while it was checked");
    return { path: opened, identity: `${stats.dev}:${stats.ino}` };
  } finally {
    await handle.close();
  }
}

/** PERMISSION_DENIED: the folder of a mount is not the one that was checked; `why` says what was seen. */
export function mountFolderChanged(
  alias: string,
  subpath: string,
  phase: "created" | "started",
  why: string,
): ControlPlaneError {
  const folder = subpath === "" ? "(the whole root)" : `(subpath "${subpath}")`;
  const after =
    phase === "created"
      ? "The runner was not created (a started one was removed; a workspace volume is kept); make sure nothing replaces that folder, then spawn again."
      : "The runner was stopped again (its workspace is kept); remove it with runner_remove and spawn a new one once the folder is the one you mean.";
  return new ControlPlaneError(
    "PERMISSION_DENIED",
    `The folder of mount alias "${alias}" ${folder} changed while the runner was being ${phase}: ${why}. ${after}`,
  );
}

function mountTarget(alias: string, target: string | undefined): string {
  if (target === undefined || target === "") return `${EXPORT_MOUNT_DIR}/${alias}`;
  const normalized = posix.normalize(target).replace(/\/$/, "");
  if (
    !target.startsWith("/") ||
    normalized !== target.replace(/\/$/, "") ||
    !normalized.startsWith(`${EXPORT_MOUNT_DIR}/`)
  ) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The mount target "${target}" must be a normalized absolute path under ${EXPORT_MOUNT_DIR}/, e.g. "${EXPORT_MOUNT_DIR}/${alias}"; omit it for that default.`,
    );
  }
  return normalized;
}
