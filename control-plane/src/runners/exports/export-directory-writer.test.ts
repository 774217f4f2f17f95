import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack as createPack, type Header } from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExportDirectoryWriter } from "./export-directory-writer.js";
import { TarReader } from "../files/tar-reader.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

type Member = Partial<Header> & { name: string; body?: string };

async function tarOf(members: Member[]): Promise<Buffer> {
  const pack = createPack();
  const chunks: Buffer[] = [];
  pack.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => pack.on("end", () => resolve()));
  for (const { body, ...header } of members) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, body ?? "", (error) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

describe("ExportDirectoryWriter", () => {
  let staging: string;
  beforeEach(async () => {
    staging = await mkdtemp(join(tmpdir(), "devhatchery-dir-export-"));
  });
  afterEach(async () => {
    await rm(staging, { recursive: true, force: true });
  });

  async function extract(members: Member[]): Promise<ExportDirectoryWriter> {
    const writer = new ExportDirectoryWriter(staging);
    const reader = new TarReader(writer.add);
    await reader.write(await tarOf(members));
    await reader.finish();
    await writer.finish();
    return writer;
  }

  it("writes files, folders and inside symlinks with their modes, and records each in the manifest", async () => {
    const writer = await extract([
      { name: "src", type: "directory", mode: 0o750 },
      { name: "src/main.c", body: "int main;", mode: 0o640 },
      { name: "run.sh", body: "#!/bin/sh\n", mode: 0o755 },
      { name: "link", type: "symlink", linkname: "src/main.c" },
    ]);
    expect(await readFile(join(staging, "src/main.c"), "utf8")).toBe("int main;");
    expect((await lstat(join(staging, "run.sh"))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(staging, "src"))).mode & 0o777).toBe(0o750);
    expect(await readlink(join(staging, "link"))).toBe("src/main.c");
    expect(writer.bytes).toBe(19);
    expect(writer.entries).toEqual([
      { path: "src", type: "directory", size: 0, mode: 0o750 },
      { path: "src/main.c", type: "file", size: 9, mode: 0o640, sha256: sha256("int main;") },
      { path: "run.sh", type: "file", size: 10, mode: 0o755, sha256: sha256("#!/bin/sh\n") },
      { path: "link", type: "symlink", size: 0, mode: 0o644, link_target: "src/main.c" },
    ]);
  });

  it("writes no setuid, setgid or sticky bit and no archive owner: everything belongs to this process's user", async () => {
    const writer = await extract([
      { name: "shared", type: "directory", mode: 0o3777, uid: 0, gid: 0 },
      { name: "shared/rootshell", body: "ELF", mode: 0o4755, uid: 0, gid: 0 },
      { name: "groupshell", body: "ELF", mode: 0o2755, uid: 4242, gid: 4242 },
      { name: "sticky", body: "x", mode: 0o1644 },
    ]);
    const modes = Object.fromEntries(
      await Promise.all(
        ["shared", "shared/rootshell", "groupshell", "sticky"].map(async (path) => [
          path,
          (await lstat(join(staging, path))).mode & 0o7777,
        ]),
      ),
    );
    expect(modes).toEqual({ shared: 0o777, "shared/rootshell": 0o755, groupshell: 0o755, sticky: 0o644 });
    for (const path of ["shared", "shared/rootshell", "groupshell", "sticky"]) {
      expect(await lstat(join(staging, path))).toMatchObject({ uid: process.getuid?.(), gid: process.getgid?.() });
    }
    expect(writer.entries.map(({ path, mode }) => [path, mode])).toEqual([
      ["shared", 0o777],
      ["shared/rootshell", 0o755],
      ["groupshell", 0o755],
      ["sticky", 0o644],
    ]);
  });

  const hostile: [string, Member[], string][] = [
    [
      "an absolute name",
      [{ name: "/etc/passwd", body: "x" }],
      'Cannot export "/etc/passwd" as a folder: it has an absolute name.',
    ],
    [
      "a .. component",
      [{ name: "a/../../escape", body: "x" }],
      'Cannot export "a/../../escape" as a folder: it has a ".." component.',
    ],
    [
      "a symlink to /etc",
      [{ name: "etc", type: "symlink", linkname: "/etc" }],
      'Cannot export "etc" as a folder: it is a symlink to "/etc", which points outside the export.',
    ],
    [
      "a relative symlink out",
      [{ name: "up", type: "symlink", linkname: "../../x" }],
      'Cannot export "up" as a folder: it is a symlink to "../../x", which points outside the export.',
    ],
    [
      "a write through a symlink",
      [
        { name: "d", type: "symlink", linkname: "." },
        { name: "d/f", body: "x" },
      ],
      'Cannot export "d/f" as a folder: it would be written through the symlink "d".',
    ],
    [
      "a symlink chain out",
      [
        { name: "x/y", type: "directory" },
        { name: "x/z", type: "directory" },
        { name: "x/y/b", type: "symlink", linkname: "../z" },
        { name: "a", type: "symlink", linkname: "x/y/b/../../.." },
      ],
      'Cannot export "a" as a folder: it is a symlink that points outside the export once the other links are followed.',
    ],
    [
      "a fifo",
      [{ name: "pipe", type: "fifo" }],
      'Cannot export "pipe" as a folder: it is a fifo, which a folder export does not write.',
    ],
    [
      "a character device",
      [{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }],
      'Cannot export "null" as a folder: it is a character-device, which a folder export does not write.',
    ],
    [
      "a block device",
      [{ name: "sda", type: "block-device", devmajor: 8, devminor: 0 }],
      'Cannot export "sda" as a folder: it is a block-device, which a folder export does not write.',
    ],
    [
      "a hard link",
      [
        { name: "f", body: "x" },
        { name: "hard", type: "link", linkname: "f" },
      ],
      'Cannot export "hard" as a folder: it is a link, which a folder export does not write.',
    ],
  ];
  it.each(hostile)("refuses %s, naming the member and the fix", async (_label, members, message) => {
    const error = (await extract(members).catch((caught: unknown) => caught)) as { code: string; message: string };
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toBe(
      `${message} Nothing was written; leave it out with exclude, or export as "tar", "tar.gz" or "tar.zst", which keep symlinks as they are.`,
    );
    expect(await readdir("/etc")).not.toContain("passwd-from-export");
  });
});
