import { lstat, readlink } from "node:fs/promises";
import { join, posix } from "node:path";

/** Symlinks followed while resolving one link, as the kernel's limit (ELOOP). */
const MAX_LINK_HOPS = 40;

/** True when a relative symlink target, read from the link's folder `member`'s parent, stays inside the tree. */
export function isLinkInside(member: string, linkname: string): boolean {
  if (linkname === "" || linkname.startsWith("/")) return false;
  const joined = posix.normalize(posix.join(posix.dirname(member), linkname));
  return joined !== ".." && !joined.startsWith("../");
}

/**
 * True when the symlink `member` (relative to `root`) stays inside `root` once every link on the way is followed
 * as the kernel would (e.g. "a" → "b/../..", where "b" → "x/y", leaves even though each link alone looks inside).
 * Parts that do not exist resolve lexically; an absolute link anywhere on the way is outside.
 */
export async function isLinkChainInside(root: string, member: string): Promise<boolean> {
  const resolved: string[] = [];
  let pending = member.split("/");
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) return false;
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const stats = await lstat(join(root, ...resolved)).catch(() => undefined);
    if (!stats?.isSymbolicLink()) continue;
    const linkname = await readlink(join(root, ...resolved));
    if (linkname.startsWith("/") || ++hops > MAX_LINK_HOPS) return false;
    resolved.pop();
    pending = [...linkname.split("/"), ...pending];
  }
  return true;
}
