import type { BigIntStats } from "node:fs";
import { cp, lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AgentError, fromSystemError } from "../errors.js";
import { isMissing } from "./file-entry.js";
import { isInside } from "./is-inside.js";

export interface MoveOptions {
  overwrite: boolean;
  createParents: boolean;
}

async function lstatOrMissing(path: string): Promise<BigIntStats | undefined> {
  return lstat(path, { bigint: true }).catch((error: unknown) => {
    if (isMissing(error)) return undefined;
    throw error;
  });
}

/** Refuses what rename(2) would refuse or do surprisingly, with a message that says how to get what was meant. */
async function assertReplaceable(
  source: string,
  destination: string,
  from: BigIntStats,
  existing: BigIntStats,
  overwrite: boolean,
): Promise<void> {
  const prefix = `Cannot move "${source}" to "${destination}"`;
  if (!overwrite) {
    throw new AgentError(
      "ALREADY_EXISTS",
      `${prefix}: the destination already exists; set overwrite to replace it, or choose another destination.`,
    );
  }
  if (existing.isDirectory() && !from.isDirectory()) {
    throw new AgentError(
      "FAILED_PRECONDITION",
      `${prefix}: the destination is a directory; to move into it, name the new path inside it ("${join(destination, basename(source))}"), or remove the directory first.`,
    );
  }
  if (from.isDirectory() && !existing.isDirectory()) {
    throw new AgentError(
      "FAILED_PRECONDITION",
      `${prefix}: the source is a directory but the destination is not; remove the destination first, or choose another one.`,
    );
  }
  if (existing.isDirectory() && (await readdir(destination)).length > 0) {
    throw new AgentError(
      "FAILED_PRECONDITION",
      `${prefix}: the destination is a directory that is not empty; remove it first (recursive), or choose another destination.`,
    );
  }
}

/** Copies, then removes the source: what a rename across file systems (EXDEV) has to become. */
async function copyAcross(source: string, destination: string, replace: boolean): Promise<void> {
  if (replace) await rm(destination, { recursive: true, force: true });
  try {
    await cp(source, destination, {
      recursive: true,
      errorOnExist: true,
      force: false,
      verbatimSymlinks: true,
      preserveTimestamps: true,
    });
  } catch (error) {
    await rm(destination, { recursive: true, force: true });
    throw error;
  }
  await rm(source, { recursive: true, force: true });
}

/** Moves `source` to the path `destination` (callers hold the locks of both). */
export async function moveEntry(source: string, destination: string, options: MoveOptions): Promise<void> {
  const from = await lstat(source, { bigint: true }).catch((error: unknown) => {
    throw fromSystemError(error, "move", source);
  });
  if (source === destination) return;
  if (from.isDirectory() && isInside(source, destination)) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `Cannot move "${source}" to "${destination}": a directory cannot move into itself; choose a destination outside it.`,
    );
  }
  const parent = dirname(destination);
  if (options.createParents) {
    await mkdir(parent, { recursive: true }).catch((error: unknown) => {
      throw fromSystemError(error, "create the parent directories of", destination);
    });
  }
  const existing = await lstatOrMissing(destination).catch((error: unknown) => {
    throw fromSystemError(error, "move to", destination);
  });
  if (existing) await assertReplaceable(source, destination, from, existing, options.overwrite);
  try {
    await rename(source, destination);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === "EXDEV") {
      await copyAcross(source, destination, existing !== undefined).catch((copyError: unknown) => {
        throw fromSystemError(copyError, `move "${source}" across file systems to`, destination);
      });
      return;
    }
    if (errno === "ENOENT") {
      throw new AgentError(
        "NOT_FOUND",
        `Cannot move "${source}" to "${destination}": directory "${parent}" does not exist; set create_parents to create it.`,
        { cause: error },
      );
    }
    throw fromSystemError(error, `move "${source}" to`, destination);
  }
}
