import { readFile } from "node:fs/promises";
import { posix } from "node:path";

/** One line of a /proc/<pid>/mountinfo file (proc(5)), with its paths unescaped. */
export interface MountEntry {
  /** The filesystem's device, "major:minor". */
  device: string;
  /** The mounted directory's path inside its filesystem ("/" for the filesystem's root; a bind of a subfolder shows it). */
  root: string;
  /** Where it is mounted, relative to the reading process's root (the container's root for a runner's process). */
  mountPoint: string;
  fsType: string;
}

/** Parses mountinfo text; later lines are mounted later, so the last entry at a mount point is the visible one. */
export function parseMountTable(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    const [device, root, mountPoint] = [fields[2], fields[3], fields[4]];
    if (separator < 0 || device === undefined || root === undefined || mountPoint === undefined) continue;
    entries.push({
      device,
      root: unescapeMountPath(root),
      mountPoint: unescapeMountPath(mountPoint),
      fsType: fields[separator + 1] ?? "",
    });
  }
  return entries;
}

/** The kernel writes space, tab, newline and backslash in mountinfo paths as octal escapes (`\040`). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The "major:minor" of an st_dev, as glibc's gnu_dev_major/gnu_dev_minor split it. */
export function deviceNumbers(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

/** The visible mount at exactly `mountPoint` (the topmost of stacked ones); undefined when nothing is mounted there. */
export function mountAt(table: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  return table.findLast((entry) => entry.mountPoint === mountPoint);
}

/**
 * Where the folder at the absolute, symlink-free `path` lies inside its filesystem, from the mount table of a process
 * that sees it at `path`: the device and root a bind of that folder shows in any mount namespace.
 */
export function folderInFilesystem(
  table: readonly MountEntry[],
  path: string,
): { device: string; root: string; fsType: string } | undefined {
  let holder: MountEntry | undefined;
  for (const entry of table) {
    const inside = entry.mountPoint === "/" || path === entry.mountPoint || path.startsWith(`${entry.mountPoint}/`);
    if (inside && (!holder || entry.mountPoint.length >= holder.mountPoint.length)) holder = entry;
  }
  if (!holder) return undefined;
  const root = posix.join(holder.root, holder.mountPoint === "/" ? path : path.slice(holder.mountPoint.length));
  return { device: holder.device, root: root.length > 1 ? root.replace(/\/$/, "") : root, fsType: holder.fsType };
}

/** Both sides of a runner's mounts: the runner's init process's table and the control plane's own. */
export interface MountTables {
  runner: MountEntry[];
  own: MountEntry[];
}

/** Why the mount at a bind's target is not the checked folder. */
export type MountMismatch =
  | { kind: "not-mounted" }
  | { kind: "not-on-checked-device"; device: string; holder: FolderPlace | undefined }
  | { kind: "other-folder"; mounted: MountEntry; expected: FolderPlace };

type FolderPlace = NonNullable<ReturnType<typeof folderInFilesystem>>;

/**
 * The visible mount at `target` in the runner must be the checked folder: on the device it was checked on (`dev`,
 * st_dev), with the root (the mounted directory's path inside its filesystem) where the control plane's own table puts
 * `source`. Undefined when it is.
 */
export function compareMount(
  tables: MountTables,
  target: string,
  source: string,
  dev: bigint,
): MountMismatch | undefined {
  const mounted = mountAt(tables.runner, target);
  if (!mounted) return { kind: "not-mounted" };
  const device = deviceNumbers(dev);
  const expected = folderInFilesystem(tables.own, source);
  // btrfs reports a subvolume's own device in stat, never the one in the mount table.
  if (!expected || (expected.device !== device && expected.fsType !== "btrfs"))
    return { kind: "not-on-checked-device", device, holder: expected };
  return mounted.device === expected.device && mounted.root === expected.root
    ? undefined
    : { kind: "other-folder", mounted, expected };
}

/**
 * The mount table of a runner's init process as the kernel shows it, and the control plane's own. Undefined when the
 * control plane cannot see that process: no pid, or /proc/<pid> is not the container's (another pid namespace).
 */
export async function readMountTables(containerId: string, pid: number | undefined): Promise<MountTables | undefined> {
  if (!pid || pid <= 0 || containerId === "") return undefined;
  // The container's id is in its cgroup path from any cgroup namespace that holds it (v1 and v2, both drivers).
  const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
  if (!cgroup.includes(containerId)) return undefined;
  const runner = await readFile(`/proc/${pid}/mountinfo`, "utf8").catch(() => undefined);
  if (runner === undefined) return undefined;
  return { runner: parseMountTable(runner), own: parseMountTable(await readFile("/proc/self/mountinfo", "utf8")) };
}
