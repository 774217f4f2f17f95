import { ControlPlaneError } from "../../errors.js";

/** True when `path` is `root` or lies below it (both absolute and normalized, e.g. from realpath). */
export function isInsidePath(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}

/**
 * A path relative to some folder, normalized ("a//./b/" is "a/b", "" or "." is ""), refusing absolute paths and ".."
 * components. `what` names the argument in the error, e.g. `subpath "x" of mount "data"`.
 */
export function relativeSubpath(what: string, subpath: string): string {
  if (subpath.startsWith("/")) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The ${what} "${subpath}" is absolute; give a path relative to it, e.g. "reports/2024".`,
    );
  }
  const parts = subpath.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The ${what} "${subpath}" has a ".." component, which would leave it; name a folder inside it, without "..".`,
    );
  }
  return parts.join("/");
}
