import { chmod, lstat, mkdir, open, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { ControlPlaneError } from "../../errors.js";
import { hashBody, type ManifestEntry } from "./export-manifest.js";
import { isLinkChainInside, isLinkInside } from "../mounts/symlink-chain.js";
import type { TarMember } from "../files/tar-reader.js";

/** What lands on the host keeps only the permission bits: never setuid, setgid or sticky (the manifest says the same). */
const HOST_MODE_BITS = 0o777;

/**
 * Extracts an export's tar stream into a private staging folder with the rules of the agent's tar-in: no absolute
 * names, no "..", no symlink pointing outside (absolute ones included), nothing written through a symlink, only
 * files, folders and symlinks (devices, FIFOs, sockets and hard links refuse the export). Everything is created by
 * this process, so it belongs to its user: archive owners are ignored. Folder modes are applied by `finish`, so
 * read-only folders can still be filled.
 */
export class ExportDirectoryWriter {
  readonly entries: ManifestEntry[] = [];
  bytes = 0;
  private readonly symlinks = new Set<string>();
  private readonly directoryModes = new Map<string, number>();

  /** `onWritten` sees `bytes` after every chunk of a file; what it throws stops the export. */
  constructor(
    private readonly staging: string,
    private readonly onWritten: (bytes: number) => void = () => undefined,
  ) {}

  readonly add = async (member: TarMember, body: AsyncIterable<Buffer>): Promise<void> => {
    const path = this.memberPath(member.name);
    if (path === "") return;
    const target = join(this.staging, path);
    const mode = member.mode & HOST_MODE_BITS;
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (parent) await mkdir(join(this.staging, parent), { recursive: true, mode: 0o700 });
    if (member.type === "directory") {
      const existing = await lstat(target).catch(() => undefined);
      if (!existing) await mkdir(target, { mode: 0o700 });
      this.directoryModes.set(path, mode);
      this.entries.push({ path, type: "directory", size: 0, mode });
    } else if (member.type === "file" || member.type === "contiguous-file") {
      const handle = await open(target, "wx", 0o600);
      try {
        const { sha256, size } = await hashBody(body, async (chunk) => {
          await handle.write(chunk);
          this.bytes += chunk.length;
          this.onWritten(this.bytes);
        });
        this.entries.push({ path, type: "file", size, mode, sha256 });
      } finally {
        await handle.close();
      }
      await chmod(target, mode);
      await utimes(target, member.mtime, member.mtime);
    } else if (member.type === "symlink") {
      if (!isLinkInside(path, member.linkname))
        throw refuse(member.name, `is a symlink to "${member.linkname}", which points outside the export`);
      await symlink(member.linkname, target);
      this.symlinks.add(path);
      this.entries.push({ path, type: "symlink", size: 0, mode: member.mode, link_target: member.linkname });
    } else {
      throw refuse(member.name, `is a ${member.type}, which a folder export does not write`);
    }
  };

  /** Checks every symlink once more with all links followed, then gives folders their modes (deepest first). */
  async finish(): Promise<void> {
    for (const path of this.symlinks) {
      if (!(await isLinkChainInside(this.staging, path)))
        throw refuse(path, "is a symlink that points outside the export once the other links are followed");
    }
    const depth = (path: string): number => path.split("/").length;
    for (const [path, mode] of [...this.directoryModes].sort(([a], [b]) => depth(b) - depth(a)))
      await chmod(join(this.staging, path), mode);
  }

  private memberPath(name: string): string {
    if (name.startsWith("/")) throw refuse(name, "has an absolute name");
    const parts = name.split("/").filter((part) => part !== "" && part !== ".");
    if (parts.includes("..")) throw refuse(name, 'has a ".." component');
    for (let end = 1; end < parts.length; end++) {
      if (this.symlinks.has(parts.slice(0, end).join("/")))
        throw refuse(name, `would be written through the symlink "${parts.slice(0, end).join("/")}"`);
    }
    return parts.join("/");
  }
}

function refuse(member: string, reason: string): ControlPlaneError {
  return new ControlPlaneError(
    "INVALID_ARGUMENT",
    `Cannot export "${member}" as a folder: it ${reason}. Nothing was written; leave it out with exclude, or export as "tar", "tar.gz" or "tar.zst", which keep symlinks as they are.`,
  );
}
