import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, link, lstat, rename, unlink } from "node:fs/promises";
import { ControlPlaneError } from "../../errors.js";
import type { AnchoredDirectory } from "../mounts/anchored-directory.js";

function alreadyExists(name: string, folder: AnchoredDirectory): ControlPlaneError {
  return new ControlPlaneError(
    "ALREADY_EXISTS",
    `An export named "${name}" already exists in "${folder.path}"; choose another name (or remove the old one).`,
    {
      hint: "export_list shows the names taken; call export_create again with another name.",
    },
  );
}

/** Refuses a name that is taken in the folder (a file, folder or symlink). */
export async function assertFree(folder: AnchoredDirectory, name: string): Promise<void> {
  if (await lstat(folder.entry(name)).catch(() => undefined)) throw alreadyExists(name, folder);
}

/**
 * Puts a finished file in place under `name`, never replacing anything: a hard link from the staging copy, or,
 * when the folder is on another file system, a copy to a hidden temporary name that is then linked into place.
 */
export async function placeFile(source: string, folder: AnchoredDirectory, name: string): Promise<void> {
  try {
    return await link(source, folder.entry(name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(name, folder);
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
  }
  const temporary = folder.entry(`.${name}.devhatchery-${randomBytes(4).toString("hex")}`);
  try {
    await copyFile(source, temporary, constants.COPYFILE_EXCL);
    await link(temporary, folder.entry(name)).catch((error: unknown) => {
      throw (error as NodeJS.ErrnoException).code === "EEXIST" ? alreadyExists(name, folder) : error;
    });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** Moves a finished folder into place by rename; the staging area must be on the folder's file system. */
export async function placeFolder(source: string, folder: AnchoredDirectory, name: string): Promise<void> {
  await assertFree(folder, name);
  try {
    await rename(source, folder.entry(name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") throw alreadyExists(name, folder);
    if (code !== "EXDEV") throw error;
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `The folder export "${name}" cannot be moved into "${folder.path}": it is on another file system than the export root. ` +
        'Export as "tar", "tar.gz" or "tar.zst" instead, or ask the operator to put DEVHATCHERY_EXPORT_ROOT on the same file system as the alias.',
      {
        cause: error,
        hint: 'Call export_create again with format "tar", "tar.gz" or "tar.zst": an archive is written in one piece.',
      },
    );
  }
}

/** Removes what was placed, when a later step failed (e.g. the manifest could not be placed). */
export async function removePlaced(folder: AnchoredDirectory, name: string): Promise<void> {
  await unlink(folder.entry(name)).catch(() => undefined);
}
