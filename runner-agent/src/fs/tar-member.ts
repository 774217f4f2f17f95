import { lstat, readlink } from "node:fs/promises";
import { isAbsolute, join, posix, relative } from "node:path";
import { AgentError } from "../errors.js";
import { isInside } from "./is-inside.js";

/** Symlinks followed while resolving one link, as the kernel's limit (ELOOP). */
const MAX_LINK_HOPS = 40;

/** The error for a refused tar member: names the target, the member, why, and how to fix the archive. */
export function refuseMember(target: string, member: string, reason: string, fix: string): AgentError {
  return new AgentError(
    "INVALID_ARGUMENT",
    `Cannot extract the archive into "${target}": member "${member}" ${reason}. Nothing was extracted; ${fix}.`,
  );
}

/**
 * The member's path relative to the target ("" for the archive's own root, "./"), refusing absolute names and
 * ".." components. Empty and "." components are dropped ("./a//b/" is "a/b").
 */
export function memberPath(target: string, name: string): string {
  if (name.startsWith("/")) {
    throw refuseMember(
      target,
      name,
      "has an absolute name",
      "create the archive with names relative to the directory it holds (e.g. tar -C DIR -cf - .)",
    );
  }
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw refuseMember(
      target,
      name,
      'has a ".." component, which would leave the target',
      "create the archive from inside the directory it holds (e.g. tar -C DIR -cf - .)",
    );
  }
  return parts.join("/");
}

/** Where a symlink member points, relative to the target, or undefined when that is outside it (lexically). */
function linkDestination(target: string, member: string, linkname: string): string | undefined {
  if (isAbsolute(linkname)) return isInside(target, linkname) ? relative(target, linkname) : undefined;
  const joined = posix.normalize(posix.join(posix.dirname(member), linkname));
  return joined === ".." || joined.startsWith("../") ? undefined : joined;
}

function refuseSymlink(target: string, member: string, linkname: string): AgentError {
  return refuseMember(
    target,
    member,
    `is a symlink to "${linkname}", which points outside the target`,
    "archive what it points to instead (tar -h follows symlinks), or make the link point inside the archive",
  );
}

/** Refuses a symlink member whose target, read lexically from the link's directory, leaves the target directory. */
export function checkSymlink(target: string, member: string, linkname: string): void {
  if (!linkname || linkDestination(target, member, linkname) === undefined)
    throw refuseSymlink(target, member, linkname);
}

/**
 * Refuses a symlink member that escapes the target once the other links are followed too (e.g. "a" → "b/..",
 * where "b" → ".."): resolves the link inside `staging` as the kernel would, every link met on the way included,
 * absolute links that point into `target` mapped onto `staging`. Parts that are not staged resolve lexically.
 */
export async function checkSymlinkChain(target: string, staging: string, member: string): Promise<void> {
  let resolved: string[] = [];
  let pending = member.split("/");
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) throw refuseSymlink(target, member, await readlink(join(staging, member)));
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const here = join(staging, ...resolved);
    const stats = await lstat(here).catch(() => undefined);
    if (!stats?.isSymbolicLink()) continue;
    const linkname = await readlink(here);
    if (++hops > MAX_LINK_HOPS) throw refuseSymlink(target, member, linkname);
    resolved.pop();
    if (isAbsolute(linkname)) {
      if (!isInside(target, linkname)) throw refuseSymlink(target, member, await readlink(join(staging, member)));
      resolved = [];
      pending = [...relative(target, linkname).split("/"), ...pending];
    } else {
      pending = [...linkname.split("/"), ...pending];
    }
  }
}
