import { constants } from "node:fs";
import { open, readlink, type FileHandle } from "node:fs/promises";
import { ControlPlaneError } from "../../errors.js";
import { isInsidePath } from "./host-path.js";

/**
 * A host folder held open by descriptor: its entries are named through `/proc/self/fd/<fd>/<name>`, so a runner
 * that swaps the folder (or a parent) for a symlink after the check cannot redirect what is written into it.
 */
export class AnchoredDirectory {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /** Opens `path` (no symlink as its last part) and checks that the folder it opened lies inside `root`. */
  static async open(path: string, root: string, what: string): Promise<AnchoredDirectory> {
    const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(
      (error: unknown) => {
        throw new ControlPlaneError(
          "FAILED_PRECONDITION",
          `The ${what} "${path}" could not be opened as a folder (${(error as NodeJS.ErrnoException).code}); create it as a folder and retry.`,
          { cause: error },
        );
      },
    );
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => "");
    if (!isInsidePath(root, opened)) {
      await handle.close();
      throw new ControlPlaneError(
        "PERMISSION_DENIED",
        `The ${what} "${path}" is not inside "${root}" (it was moved or swapped for a symlink); name a folder inside it.`,
      );
    }
    return new AnchoredDirectory(handle, opened);
  }

  /** The path of `name` (one path component) inside this folder, bound to the open descriptor. */
  entry(name: string): string {
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
