import { link, lstat, lutimes, mkdir, open, symlink, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Header } from "tar-stream";
import type { AgentError } from "../errors.js";
import { isInside } from "./is-inside.js";
import { checkSymlink, checkSymlinkChain, memberPath, refuseMember } from "./tar-member.js";

const EXTRACTABLE = new Set<Header["type"]>(["file", "contiguous-file", "directory", "symlink", "link"]);
const NO_DEVICES = "leave device files, FIFOs and sockets out of the archive";

/**
 * The staging directory of one extraction, filled member by member: every member is checked (name, type, link
 * targets) before anything is created, and nothing is ever written through a symlink. Directory modes are kept
 * aside and applied after the move into place, so a read-only directory does not block its own members.
 */
export class StagingTree {
  /** Relative paths known to be real directories in staging (never symlinks). */
  private readonly directories = new Set<string>([""]);
  /** Directory members and their modes, to apply once in place. */
  readonly directoryModes = new Map<string, number>();
  private readonly symlinks: string[] = [];
  entries = 0;
  bytes = 0;

  constructor(
    /** The extraction's target, for messages and for absolute link targets. */
    private readonly target: string,
    readonly root: string,
  ) {}

  /** Refuses a symlink that escapes the target once every other staged link is followed too (see checkSymlinkChain). */
  async checkLinkChains(): Promise<void> {
    for (const member of this.symlinks) await checkSymlinkChain(this.target, this.root, member);
  }

  /** Checks and stages one member; `body` must be read to its end (a file's content, empty for anything else). */
  async add(header: Header, body: AsyncIterable<Buffer>): Promise<void> {
    if (!EXTRACTABLE.has(header.type))
      throw refuseMember(this.target, header.name, `is a ${header.type ?? "special file"}`, NO_DEVICES);
    const path = memberPath(this.target, header.name);
    if (header.type === "symlink") checkSymlink(this.target, path, header.linkname ?? "");
    // Only files have content; anything else a (malformed) archive gives a body is read past, not kept.
    if (header.type !== "file" && header.type !== "contiguous-file") for await (const _ of body);
    if (path === "") {
      if (header.type !== "directory")
        throw refuseMember(this.target, header.name, "has an empty name", "name every member");
      return; // the archive's own root, "./"
    }
    await this.parentsOf(path, header.name);
    const destination = join(this.root, path);
    await this.replaceEarlier(path, destination, header);
    const mode = header.mode ?? (header.type === "directory" ? 0o755 : 0o644);
    const mtime = header.mtime ?? new Date();
    switch (header.type) {
      case "directory":
        await mkdir(destination).catch((error: unknown) =>
          (error as NodeJS.ErrnoException).code === "EEXIST" ? undefined : Promise.reject(error),
        );
        this.directories.add(path);
        this.directoryModes.set(path, mode & 0o7777);
        break;
      case "symlink":
        await symlink(header.linkname as string, destination);
        await lutimes(destination, mtime, mtime).catch(() => undefined);
        this.symlinks.push(path);
        break;
      case "link":
        await link(await this.hardLinkSource(header), destination);
        break;
      default:
        await this.file(destination, body, mode & 0o7777, mtime);
    }
    this.entries++;
  }

  private async file(destination: string, body: AsyncIterable<Buffer>, mode: number, mtime: Date): Promise<void> {
    const handle = await open(destination, "wx", mode);
    try {
      for await (const chunk of body) {
        for (let offset = 0; offset < chunk.length;)
          offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
        this.bytes += chunk.length;
      }
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
    await utimes(destination, mtime, mtime);
  }

  /** Makes the member's missing parent directories, refusing to write through a symlink or into a file. */
  private async parentsOf(path: string, name: string): Promise<void> {
    const parts = path.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join("/");
      if (this.directories.has(parent)) continue;
      const stats = await lstat(join(this.root, parent)).catch(() => undefined);
      if (stats?.isSymbolicLink()) {
        throw refuseMember(
          this.target,
          name,
          `would be written through the symlink "${parent}" of an earlier member`,
          "archive the directory the link points to instead",
        );
      }
      if (stats && !stats.isDirectory())
        throw refuseMember(
          this.target,
          name,
          `is inside "${parent}", which is a file in the archive`,
          "remove the conflicting member",
        );
      if (!stats) await mkdir(join(this.root, parent));
      this.directories.add(parent);
    }
  }

  /** A later member of the same name replaces an earlier file or symlink, as tar does; a directory cannot change type. */
  private async replaceEarlier(path: string, destination: string, header: Header): Promise<void> {
    const earlier = await lstat(destination).catch(() => undefined);
    if (!earlier) return;
    if (earlier.isDirectory() !== (header.type === "directory")) {
      throw refuseMember(
        this.target,
        header.name,
        "conflicts with an earlier member of the same name and another type",
        "remove one of the two",
      );
    }
    if (!earlier.isDirectory()) await unlink(destination);
  }

  /** Where a hard link member points in staging: only an earlier regular file member of this archive. */
  private async hardLinkSource(header: Header): Promise<string> {
    const linkname = header.linkname ?? "";
    const refuse = (why: string): AgentError =>
      refuseMember(
        this.target,
        header.name,
        `is a hard link to "${linkname}", ${why}`,
        "archive the file itself instead of a link to it",
      );
    const parts = linkname.split("/").filter((part) => part !== "" && part !== ".");
    if (linkname.startsWith("/") || parts.includes("..") || parts.length === 0)
      throw refuse("which is outside the target");
    const source = join(this.root, ...parts);
    for (let depth = 1; depth < parts.length; depth++) {
      if (!this.directories.has(parts.slice(0, depth).join("/")))
        throw refuse("which is not an earlier file member of the archive");
    }
    const stats = await lstat(source).catch(() => undefined);
    if (!stats?.isFile() || !isInside(this.root, source))
      throw refuse("which is not an earlier file member of the archive");
    return source;
  }
}
