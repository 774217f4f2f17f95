import { isAbsolute, relative } from "node:path";

/** True when `path` is `root` or lies below it, compared lexically (both absolute and normalized). */
export function isInside(root: string, path: string): boolean {
  const rest = relative(root, path);
  return rest === "" || (rest !== ".." && !rest.startsWith("../") && !isAbsolute(rest));
}
