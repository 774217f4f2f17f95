import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FileType,
  type ChmodResponse,
  type ListResponse,
  type MkdirRequest,
  type MkdirResponse,
  type MoveRequest,
  type MoveResponse,
  type RemoveResponse,
  type StatResponse,
} from "@devhatchery/proto/agent/v1/fs";
import { readAll, startAgentHarness, unaryCall, writeStreamed, type AgentHarness } from "../../test/agent-harness.js";

describe("FsService over a real gRPC server", () => {
  let agent: AgentHarness;
  let work: (path: string) => string;
  beforeAll(async () => {
    agent = await startAgentHarness();
    work = (path) => join(agent.workDir, path);
  });
  afterAll(async () => {
    await agent.close();
  });

  const statPath = (path: string) =>
    unaryCall<StatResponse>((metadata, callback) => agent.fs.stat({ path }, metadata, callback));
  const list = (path: string, options: { limit?: number; depth?: number } = {}) =>
    unaryCall<ListResponse>((metadata, callback) =>
      agent.fs.list({ path, limit: options.limit ?? 0, depth: options.depth ?? 0 }, metadata, callback),
    );
  const mkdirPath = (request: Partial<MkdirRequest> & { path: string }) =>
    unaryCall<MkdirResponse>((metadata, callback) =>
      agent.fs.mkdir({ parents: false, mode: 0, ...request }, metadata, callback),
    );
  const move = (request: Partial<MoveRequest> & { source: string; destination: string }) =>
    unaryCall<MoveResponse>((metadata, callback) =>
      agent.fs.move({ overwrite: false, createParents: false, ...request }, metadata, callback),
    );
  const remove = (path: string, recursive = false) =>
    unaryCall<RemoveResponse>((metadata, callback) => agent.fs.remove({ path, recursive }, metadata, callback));
  const chmodPath = (path: string, mode: number) =>
    unaryCall<ChmodResponse>((metadata, callback) => agent.fs.chmod({ path, mode }, metadata, callback));

  describe("Write and Read", () => {
    it("writes a file with parents relative to the work directory, then reads it back", async () => {
      const written = await writeStreamed(
        agent.fs,
        { path: "src/deep/hello.txt", createParents: true },
        Buffer.from("hello\n"),
      );
      expect(written.info).toMatchObject({
        path: work("src/deep/hello.txt"),
        name: "hello.txt",
        type: FileType.FILE_TYPE_FILE,
        size: 6,
        mode: 0o644,
        linkTarget: "",
      });
      const { data, chunks } = await readAll(agent.fs, { path: "src/deep/hello.txt" });
      expect(data.toString()).toBe("hello\n");
      expect(chunks[0]?.info).toEqual(written.info);
    });

    it("writes atomically: no temporary file is left, the mode is applied and kept by the next write", async () => {
      await writeStreamed(agent.fs, { path: "script.sh", mode: 0o755 }, Buffer.from("#!/bin/sh\n"));
      const again = await writeStreamed(agent.fs, { path: "script.sh" }, Buffer.from("#!/bin/sh\necho hi\n"));
      expect(again.info?.mode).toBe(0o755);
      expect((await stat(work("script.sh"))).mode & 0o777).toBe(0o755);
      expect((await readdir(agent.workDir)).filter((name) => name.includes("devhatchery-tmp"))).toEqual([]);
    });

    it("writes an empty file from a header alone, and keeps binary bytes exact", async () => {
      expect((await writeStreamed(agent.fs, { path: "empty.txt" }, [])).info?.size).toBe(0);
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      await writeStreamed(agent.fs, { path: "bin.dat" }, bytes);
      expect((await readFile(work("bin.dat"))).equals(bytes)).toBe(true);
    });

    it("refuses to write into a missing directory unless asked to create parents", async () => {
      await expect(writeStreamed(agent.fs, { path: "missing/file.txt" }, Buffer.from("x"))).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot write "${work("missing/file.txt")}": directory "${work("missing")}" does not exist; set create_parents to create it.`,
      });
      await expect(lstat(work("missing"))).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("refuses to write over a directory, and rejects an invalid mode", async () => {
      await mkdir(work("a-dir"), { recursive: true });
      await expect(writeStreamed(agent.fs, { path: "a-dir" }, Buffer.from("x"))).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot write "${work("a-dir")}": it is a directory; write to a path inside it, or remove it first.`,
      });
      await expect(writeStreamed(agent.fs, { path: "m.txt", mode: 0o10000 }, Buffer.from("x"))).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details:
          "Mode 4096 (octal 10000) is not valid permission bits; pass at most 07777 (decimal 4095), e.g. 0644 (decimal 420) or 0755 (decimal 493).",
      });
    });

    it("writes through a symlink to the file it points to and keeps the link", async () => {
      await writeFile(work("real.txt"), "old");
      await symlink("real.txt", work("alias.txt"));
      const written = await writeStreamed(agent.fs, { path: "alias.txt" }, Buffer.from("new"));
      expect(written.info).toMatchObject({
        path: work("alias.txt"),
        type: FileType.FILE_TYPE_FILE,
        size: 3,
        linkTarget: "real.txt",
      });
      expect((await lstat(work("alias.txt"))).isSymbolicLink()).toBe(true);
      expect(await readFile(work("real.txt"), "utf8")).toBe("new");
    });

    it("reads a range with offset and length", async () => {
      await writeFile(work("digits.txt"), "0123456789");
      expect((await readAll(agent.fs, { path: "digits.txt", offset: 3, length: 4 })).data.toString()).toBe("3456");
      expect((await readAll(agent.fs, { path: "digits.txt", offset: 8 })).data.toString()).toBe("89");
      expect((await readAll(agent.fs, { path: "digits.txt", offset: 20 })).data.toString()).toBe("");
    });

    it("streams a large file in chunks with the bytes intact", async () => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
      await writeFile(work("big.bin"), big);
      const { data, chunks } = await readAll(agent.fs, { path: "big.bin" });
      expect(chunks.length).toBeGreaterThan(10);
      expect(chunks.slice(1).every((chunk) => chunk.info === undefined)).toBe(true);
      expect(data.equals(big)).toBe(true);
    });

    it("reads an empty file as one chunk with its metadata", async () => {
      await writeFile(work("empty"), "");
      const { data, chunks } = await readAll(agent.fs, { path: "empty" });
      expect(data.length).toBe(0);
      expect(chunks[0]?.info?.size).toBe(0);
    });

    it("fails to read a missing file or a directory with clear errors", async () => {
      await expect(readAll(agent.fs, { path: "/no/such/file" })).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: 'Cannot read "/no/such/file": no such file or directory',
      });
      await expect(readAll(agent.fs, { path: "." })).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot read "${agent.workDir}": it is a directory; list it instead.`,
      });
    });

    it("reads only the expected version with if_match", async () => {
      const { info } = await writeStreamed(agent.fs, { path: "versioned.txt" }, Buffer.from("v1"));
      expect((await readAll(agent.fs, { path: "versioned.txt", ifMatch: info?.etag ?? "" })).data.toString()).toBe(
        "v1",
      );
      const next = await writeStreamed(agent.fs, { path: "versioned.txt" }, Buffer.from("v2"));
      await expect(readAll(agent.fs, { path: "versioned.txt", ifMatch: info?.etag ?? "" })).rejects.toMatchObject({
        code: status.ABORTED,
        details:
          `Cannot read "${work("versioned.txt")}": if_match expected etag "${info?.etag}" but the current etag is "${next.info?.etag}"; the file changed since you read it. ` +
          "Read it again for its current content and etag, reapply your change, and retry with the new etag.",
      });
    });
  });

  describe("Stat", () => {
    it("describes a file, a directory and a symlink (followed, with its target)", async () => {
      await mkdir(work("stat/dir"), { recursive: true });
      await writeFile(work("stat/file.txt"), "abc");
      await symlink("file.txt", work("stat/link"));
      expect((await statPath("stat/file.txt")).info).toMatchObject({
        path: work("stat/file.txt"),
        type: FileType.FILE_TYPE_FILE,
        size: 3,
        linkTarget: "",
      });
      expect((await statPath("stat/dir")).info).toMatchObject({ type: FileType.FILE_TYPE_DIRECTORY, mode: 0o755 });
      const link = (await statPath("stat/link")).info;
      expect(link).toMatchObject({
        path: work("stat/link"),
        name: "link",
        type: FileType.FILE_TYPE_FILE,
        size: 3,
        linkTarget: "file.txt",
      });
      expect(link?.etag).toBe((await statPath("stat/file.txt")).info?.etag);
    });

    it("reports the device and inode of what a path names (a symlink followed), as decimal strings", async () => {
      await mkdir(work("ids/dir"), { recursive: true });
      await symlink("dir", work("ids/to-dir"));
      const real = await stat(work("ids/dir"), { bigint: true });
      const expected = { dev: real.dev.toString(), ino: real.ino.toString() };
      expect((await statPath("ids/dir")).info).toMatchObject(expected);
      expect((await statPath("ids/to-dir")).info).toMatchObject(expected);
      expect(expected.ino).not.toBe("0");
    });

    it("describes a dangling symlink as itself, and a missing path as NOT_FOUND", async () => {
      await symlink("nowhere", work("dangling"));
      expect((await statPath("dangling")).info).toMatchObject({
        type: FileType.FILE_TYPE_SYMLINK,
        linkTarget: "nowhere",
      });
      await expect(statPath("nope")).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot stat "${work("nope")}": no such file or directory`,
      });
    });
  });

  describe("List", () => {
    it("lists a directory sorted by name, with types, and truncates at the limit", async () => {
      await mkdir(work("listing/sub"), { recursive: true });
      for (const name of ["c.txt", "a.txt", "b.txt"]) await writeFile(work(`listing/${name}`), name);
      const all = await list("listing");
      expect(all.directory?.path).toBe(work("listing"));
      expect(all.entries.map((entry) => [entry.name, entry.type])).toEqual([
        ["a.txt", FileType.FILE_TYPE_FILE],
        ["b.txt", FileType.FILE_TYPE_FILE],
        ["c.txt", FileType.FILE_TYPE_FILE],
        ["sub", FileType.FILE_TYPE_DIRECTORY],
      ]);
      expect(all.truncated).toBe(false);
      const two = await list("listing", { limit: 2 });
      expect(two.entries.map((entry) => entry.name)).toEqual(["a.txt", "b.txt"]);
      expect(two.truncated).toBe(true);
      expect((await list("listing", { limit: 4 })).truncated).toBe(false);
    });

    it("lists recursively, breadth first, up to the depth, and lists symlinked directories without following them", async () => {
      const tree = work("tree");
      await mkdir(join(tree, "b/c/d"), { recursive: true });
      await mkdir(join(tree, "a"), { recursive: true });
      await writeFile(join(tree, "a/one.txt"), "1");
      await writeFile(join(tree, "b/c/two.txt"), "2");
      await writeFile(join(tree, "b/c/d/three.txt"), "3");
      await writeFile(join(tree, "top.txt"), "t");
      await symlink("b", join(tree, "link-to-b"));
      const relative = (response: ListResponse) => response.entries.map((entry) => entry.path.slice(tree.length + 1));
      expect(relative(await list("tree", { depth: 1 }))).toEqual(["a", "b", "link-to-b", "top.txt"]);
      expect(relative(await list("tree", { depth: 2 }))).toEqual([
        "a",
        "b",
        "link-to-b",
        "top.txt",
        "a/one.txt",
        "b/c",
      ]);
      const deep = await list("tree", { depth: 10 });
      expect(relative(deep)).toEqual([
        "a",
        "b",
        "link-to-b",
        "top.txt",
        "a/one.txt",
        "b/c",
        "b/c/d",
        "b/c/two.txt",
        "b/c/d/three.txt",
      ]);
      expect(deep.entries.find((entry) => entry.name === "link-to-b")).toMatchObject({
        type: FileType.FILE_TYPE_SYMLINK,
        linkTarget: "b",
      });
      const capped = await list("tree", { depth: 10, limit: 5 });
      expect(relative(capped)).toEqual(["a", "b", "link-to-b", "top.txt", "a/one.txt"]);
      expect(capped.truncated).toBe(true);
    });

    it("refuses to list a file, and a limit above the maximum", async () => {
      await writeFile(work("plain.txt"), "x");
      await expect(list("plain.txt")).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot list "${work("plain.txt")}": it is not a directory; read or stat it instead.`,
      });
      await expect(list(".", { limit: 100_001 })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details:
          "List limit 100001 is more than the maximum of 100000; list subdirectories separately or lower the depth.",
      });
    });
  });

  describe("one etag scheme", () => {
    it("gives a file the same etag from Write, Read, Stat and List, and a new one on every write", async () => {
      await mkdir(work("etags"));
      const etags = new Set<string>();
      for (const content of ["one", "two", "two", "three"]) {
        const written = await writeStreamed(agent.fs, { path: "etags/file.txt" }, Buffer.from(content));
        const etag = written.info?.etag ?? "";
        expect(etag).not.toBe("");
        expect((await readAll(agent.fs, { path: "etags/file.txt" })).chunks[0]?.info?.etag).toBe(etag);
        expect((await statPath("etags/file.txt")).info?.etag).toBe(etag);
        expect((await list("etags")).entries[0]?.etag).toBe(etag);
        etags.add(etag);
      }
      expect(etags.size).toBe(4);
    });

    it("changes the etag when another process writes the file or its mode changes", async () => {
      const before = (await writeStreamed(agent.fs, { path: "touched.txt" }, Buffer.from("a"))).info?.etag;
      await writeFile(work("touched.txt"), "b");
      const afterWrite = (await statPath("touched.txt")).info?.etag;
      expect(afterWrite).not.toBe(before);
      expect((await chmodPath("touched.txt", 0o600)).info?.etag).not.toBe(afterWrite);
    });
  });

  describe("Mkdir", () => {
    it("creates a directory with a mode, refuses an existing one, and creates parents on request", async () => {
      expect((await mkdirPath({ path: "made", mode: 0o700 })).info).toMatchObject({
        path: work("made"),
        type: FileType.FILE_TYPE_DIRECTORY,
        mode: 0o700,
      });
      await expect(mkdirPath({ path: "made" })).rejects.toMatchObject({
        code: status.ALREADY_EXISTS,
        details: `Cannot create directory "${work("made")}": it already exists; set parents to accept an existing directory.`,
      });
      await expect(mkdirPath({ path: "nested/x/y" })).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot create directory "${work("nested/x/y")}": its parent "${work("nested/x")}" does not exist; set parents to create it.`,
      });
      expect((await mkdirPath({ path: "nested/x/y", parents: true })).info).toMatchObject({
        type: FileType.FILE_TYPE_DIRECTORY,
        mode: 0o755,
      });
      expect((await mkdirPath({ path: "nested/x/y", parents: true })).info?.path).toBe(work("nested/x/y"));
    });

    it("refuses a file in the way", async () => {
      await writeFile(work("in-the-way"), "x");
      await expect(mkdirPath({ path: "in-the-way", parents: true })).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot create directory "${work("in-the-way")}": a file is in the way; remove it or choose another path.`,
      });
    });
  });

  describe("Move", () => {
    it("renames a file", async () => {
      await writeFile(work("move-me.txt"), "m");
      const moved = await move({ source: "move-me.txt", destination: "moved.txt" });
      expect(moved.info).toMatchObject({ path: work("moved.txt"), size: 1 });
      await expect(lstat(work("move-me.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("refuses to move onto an existing file unless asked to overwrite", async () => {
      await writeFile(work("src.txt"), "source");
      await writeFile(work("dst.txt"), "destination");
      await expect(move({ source: "src.txt", destination: "dst.txt" })).rejects.toMatchObject({
        code: status.ALREADY_EXISTS,
        details: `Cannot move "${work("src.txt")}" to "${work("dst.txt")}": the destination already exists; set overwrite to replace it, or choose another destination.`,
      });
      expect(await readFile(work("dst.txt"), "utf8")).toBe("destination");
      expect(await readFile(work("src.txt"), "utf8")).toBe("source");
      await move({ source: "src.txt", destination: "dst.txt", overwrite: true });
      expect(await readFile(work("dst.txt"), "utf8")).toBe("source");
    });

    it("creates the destination's parents on request, and says how to fix a missing one", async () => {
      await writeFile(work("lonely.txt"), "l");
      await expect(move({ source: "lonely.txt", destination: "new/home/lonely.txt" })).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot move "${work("lonely.txt")}" to "${work("new/home/lonely.txt")}": directory "${work("new/home")}" does not exist; set create_parents to create it.`,
      });
      expect(
        (await move({ source: "lonely.txt", destination: "new/home/lonely.txt", createParents: true })).info?.path,
      ).toBe(work("new/home/lonely.txt"));
    });

    it("moves directories, refusing a non-empty destination, a file onto a directory and a directory into itself", async () => {
      await mkdir(work("mv/from/inner"), { recursive: true });
      await mkdir(work("mv/full/x"), { recursive: true });
      await writeFile(work("mv/file.txt"), "f");
      await expect(move({ source: "mv/from", destination: "mv/full", overwrite: true })).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot move "${work("mv/from")}" to "${work("mv/full")}": the destination is a directory that is not empty; remove it first (recursive), or choose another destination.`,
      });
      await expect(move({ source: "mv/file.txt", destination: "mv/full", overwrite: true })).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot move "${work("mv/file.txt")}" to "${work("mv/full")}": the destination is a directory; to move into it, name the new path inside it ("${work("mv/full/file.txt")}"), or remove the directory first.`,
      });
      await expect(move({ source: "mv/from", destination: "mv/from/inner/deeper" })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: `Cannot move "${work("mv/from")}" to "${work("mv/from/inner/deeper")}": a directory cannot move into itself; choose a destination outside it.`,
      });
      expect((await move({ source: "mv/from", destination: "mv/to" })).info).toMatchObject({
        type: FileType.FILE_TYPE_DIRECTORY,
      });
      expect((await lstat(work("mv/to/inner"))).isDirectory()).toBe(true);
    });

    it("fails on a missing source", async () => {
      await expect(move({ source: "ghost", destination: "ghost2" })).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot move "${work("ghost")}": no such file or directory`,
      });
    });
  });

  describe("Remove", () => {
    it("removes a file and an empty directory, returning what was removed", async () => {
      await writeFile(work("rm.txt"), "r");
      expect((await remove("rm.txt")).info).toMatchObject({
        path: work("rm.txt"),
        type: FileType.FILE_TYPE_FILE,
        size: 1,
      });
      await mkdir(work("rm-empty"));
      expect((await remove("rm-empty")).info?.type).toBe(FileType.FILE_TYPE_DIRECTORY);
      await expect(lstat(work("rm-empty"))).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("refuses a non-empty directory unless recursive", async () => {
      await mkdir(work("rm-full/sub"), { recursive: true });
      await writeFile(work("rm-full/sub/f.txt"), "f");
      await expect(remove("rm-full")).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot remove "${work("rm-full")}": the directory is not empty; set recursive to remove it with everything in it, or remove its entries first.`,
      });
      expect(await readFile(work("rm-full/sub/f.txt"), "utf8")).toBe("f");
      await remove("rm-full", true);
      await expect(lstat(work("rm-full"))).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("removes a symlink, not what it points to", async () => {
      await mkdir(work("kept/inside"), { recursive: true });
      await symlink("kept", work("kept-link"));
      expect((await remove("kept-link", true)).info).toMatchObject({
        type: FileType.FILE_TYPE_SYMLINK,
        linkTarget: "kept",
      });
      expect((await lstat(work("kept/inside"))).isDirectory()).toBe(true);
    });

    it("fails on a missing path and refuses the root", async () => {
      await expect(remove("ghost")).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot remove "${work("ghost")}": no such file or directory`,
      });
      await expect(remove("/", true)).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'Refusing to remove "/"; name the directory you mean.',
      });
    });
  });

  describe("Chmod", () => {
    it("sets the permission bits, including 0, and refuses invalid ones", async () => {
      await writeFile(work("perm.txt"), "p");
      expect((await chmodPath("perm.txt", 0o4750)).info?.mode).toBe(0o4750);
      expect((await chmodPath("perm.txt", 0)).info?.mode).toBe(0);
      await expect(chmodPath("perm.txt", 0o20000)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
      await expect(chmodPath("ghost", 0o644)).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot change the mode of "${work("ghost")}": no such file or directory`,
      });
    });
  });
});
