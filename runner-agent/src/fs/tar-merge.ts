import { lstat, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { AgentError } from "../errors.js";

export interface MergePlan {
  /** Renames that put the staged entries in place, each atomic. */
  moves: { from: string; to: string }[];
  /** Relative paths of directories that already existed in the target (merged into, left as they were). */
  existingDirectories: Set<string>;
}

/**
 * Plans moving a staged tree into `target` without touching anything: a staged entry missing from the target moves
 * whole, a staged directory merges into an existing directory, a staged file or symlink replaces an existing one
 * only with `overwrite`. Existing symlinks are never followed (lstat): a staged directory meeting one is a conflict.
 */
export async function planMerge(staging: string, target: string, overwrite: boolean): Promise<MergePlan> {
  const plan: MergePlan = { moves: [], existingDirectories: new Set() };
  const visit = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(staging, relative))).sort()) {
      const member = relative ? `${relative}/${name}` : name;
      const from = join(staging, member);
      const to = join(target, member);
      const existing = await lstat(to).catch(() => undefined);
      if (!existing) {
        plan.moves.push({ from, to });
        continue;
      }
      const staged = await lstat(from);
      if (staged.isDirectory() !== existing.isDirectory()) {
        const [what, but] = staged.isDirectory() ? ["a directory", "is not"] : ["not a directory", "is one"];
        throw new AgentError(
          "FAILED_PRECONDITION",
          `Cannot extract the archive into "${target}": member "${member}" is ${what} but "${to}" ${but}. Nothing was extracted; remove "${to}" first, or extract elsewhere.`,
        );
      }
      if (staged.isDirectory()) {
        plan.existingDirectories.add(member);
        await visit(member);
      } else if (!overwrite) {
        throw new AgentError(
          "ALREADY_EXISTS",
          `Cannot extract the archive into "${target}": "${to}" already exists (member "${member}"). Nothing was extracted; set overwrite to replace existing files, or extract into an empty directory.`,
        );
      } else {
        plan.moves.push({ from, to });
      }
    }
  };
  await visit("");
  return plan;
}

export async function applyMerge(plan: MergePlan): Promise<void> {
  for (const { from, to } of plan.moves) await rename(from, to);
}
