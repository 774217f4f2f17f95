import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileType, type TarInRequest, type TarOutChunk } from "@devhatchery/proto/agent/v1/fs";
import {
  authMetadata,
  startAgentHarness,
  tarInStreamed,
  tarOutAll,
  type AgentHarness,
} from "../../test/agent-harness.js";
import { describeTree, makeTar, type TarMember } from "../../test/tar-fixtures.js";

/** Waits (bounded) until `check` holds, polling every 10 ms for at most 2 s; returns whether it did. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** Paths the test process (which hosts the agent) holds open. */
async function openPaths(): Promise<string[]> {
  const fds = await readdir("/proc/self/fd");
  return (await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")))).filter(Boolean);
}

const REFUSED_DOTDOT = "create the archive from inside the directory it holds (e.g. tar -C DIR -cf - .)";

describe("FsService.TarOut and TarIn", () => {
  let agent: AgentHarness;
  let work: (path: string) => string;
  let fresh: number;
  /** A new empty directory under the work directory, returned as its relative and absolute path. */
  const freshDir = async (): Promise<{ rel: string; abs: string }> => {
    const rel = `targets/t${fresh++}`;
    await mkdir(work(rel), { recursive: true });
    return { rel, abs: work(rel) };
  };

  beforeAll(async () => {
    agent = await startAgentHarness();
    work = (path) => join(agent.workDir, path);
    fresh = 0;
    const files: [string, string | Buffer, number][] = [
      ["README.md", "# project\n", 0o644],
      ["bin/run.sh", "#!/bin/sh\necho run\n", 0o755],
      ["src/main.ts", "export const main = 1;\n", 0o644],
      ["src/util.ts", "export const util = 2;\n", 0o600],
      ["src/deep/x.ts", "export const x = 3;\n", 0o644],
      ["src/deep/x.test.ts", "test('x')\n", 0o644],
      ["node_modules/pkg/index.js", "module.exports = 1;\n", 0o644],
      ["src/deep/node_modules/inner/index.js", "module.exports = 2;\n", 0o644],
      ["docs/guide.md", "guide\n", 0o644],
      [`src/${"long-name-".repeat(12)}.txt`, "needs a pax header\n", 0o644],
      ["assets/blob.bin", randomBytes(1024 * 1024 + 3), 0o644],
    ];
    for (const [path, content, mode] of files) {
      await mkdir(join(work("project"), path, ".."), { recursive: true });
      await writeFile(join(work("project"), path), content, { mode });
    }
    await mkdir(work("project/empty-dir"), { mode: 0o750 });
    await symlink("src/main.ts", work("project/main-link"));
  });
  afterAll(async () => {
    await agent.close();
  });

  /** What remains of the project tree once the named entries (and everything below them) are left out. */
  const projectWithout = async (...left: string[]): Promise<Record<string, string>> =>
    Object.fromEntries(
      Object.entries(await describeTree(work("project"))).filter(
        ([path]) => !left.some((out) => path === out || path.startsWith(`${out}/`)),
      ),
    );

  describe("round trips", () => {
    it("archives a directory with exclude globs and extracts it elsewhere identically", async () => {
      const archive = await tarOutAll(agent.fs, { path: "project", exclude: ["**/node_modules", "**/*.test.ts"] });
      const target = await freshDir();
      const result = await tarInStreamed(agent.fs, { path: target.rel }, archive);
      const expected = await projectWithout("node_modules", "src/deep/node_modules", "src/deep/x.test.ts");
      expect(await describeTree(target.abs)).toEqual(expected);
      expect(result).toMatchObject({
        entries: Object.keys(expected).length,
        directory: { path: target.abs, type: FileType.FILE_TYPE_DIRECTORY },
      });
      expect(Number(result.bytes)).toBeGreaterThan(1024 * 1024);
    });

    it("archives only included files, with the directories leading to them", async () => {
      const archive = await tarOutAll(agent.fs, {
        path: "project",
        include: ["src/**/*.ts", "*.md"],
        exclude: ["**/*.test.ts"],
      });
      const target = await freshDir();
      await tarInStreamed(agent.fs, { path: target.rel }, archive);
      expect(Object.keys(await describeTree(target.abs))).toEqual([
        "README.md",
        "src",
        "src/deep",
        "src/deep/x.ts",
        "src/main.ts",
        "src/util.ts",
      ]);
      expect((await stat(join(target.abs, "src/util.ts"))).mode & 0o777).toBe(0o600);
    });

    it("keeps modification times and hard links, and archives a single file under its own name", async () => {
      const when = new Date("2020-02-02T02:02:02Z");
      const archive = await makeTar([
        { name: "dated.txt", content: "old", mtime: when },
        { name: "linked.txt", type: "link", linkname: "dated.txt" },
      ]);
      const target = await freshDir();
      await tarInStreamed(agent.fs, { path: target.rel }, archive);
      const dated = await stat(join(target.abs, "dated.txt"));
      expect(dated.mtime.toISOString()).toBe(when.toISOString());
      expect((await stat(join(target.abs, "linked.txt"))).ino).toBe(dated.ino);

      const single = await tarOutAll(agent.fs, { path: `${target.rel}/dated.txt` });
      const again = await freshDir();
      await tarInStreamed(agent.fs, { path: again.rel }, single);
      expect(await describeTree(again.abs)).toEqual({ "dated.txt": (await describeTree(target.abs))["dated.txt"] });
    });

    it("creates a missing target on request, and merges into existing directories", async () => {
      const archive = await makeTar([
        { name: "src/", type: "directory" },
        { name: "src/new.txt", content: "new" },
      ]);
      await expect(tarInStreamed(agent.fs, { path: "targets/not-yet" }, archive)).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot extract the archive into "${work("targets/not-yet")}": the directory does not exist; set create_parents to create it.`,
      });
      await tarInStreamed(agent.fs, { path: "targets/not-yet/deeper", createParents: true }, archive);
      expect(await readFile(work("targets/not-yet/deeper/src/new.txt"), "utf8")).toBe("new");

      const target = await freshDir();
      await mkdir(join(target.abs, "src"));
      await writeFile(join(target.abs, "src/keep.txt"), "keep");
      await tarInStreamed(agent.fs, { path: target.rel }, archive);
      expect(await describeTree(target.abs)).toMatchObject({
        "src/keep.txt": expect.any(String),
        "src/new.txt": expect.any(String),
      });
    });

    it("fails on a missing path or bad globs", async () => {
      await expect(tarOutAll(agent.fs, { path: "no-such-dir" })).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: `Cannot archive "${work("no-such-dir")}": no such file or directory`,
      });
      await expect(tarOutAll(agent.fs, { path: "project", include: [""] })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: `Cannot archive "${work("project")}": an include or exclude glob is empty; remove it or write a pattern such as "**/*.ts".`,
      });
    });
  });

  describe("existing files", () => {
    it("refuses to replace an existing file unless asked to overwrite, changing nothing", async () => {
      const target = await freshDir();
      await writeFile(join(target.abs, "same.txt"), "old");
      const archive = await makeTar([
        { name: "first.txt", content: "1" },
        { name: "same.txt", content: "new" },
      ]);
      await expect(tarInStreamed(agent.fs, { path: target.rel }, archive)).rejects.toMatchObject({
        code: status.ALREADY_EXISTS,
        details: `Cannot extract the archive into "${target.abs}": "${join(target.abs, "same.txt")}" already exists (member "same.txt"). Nothing was extracted; set overwrite to replace existing files, or extract into an empty directory.`,
      });
      expect(await readdir(target.abs)).toEqual(["same.txt"]);
      expect(await readFile(join(target.abs, "same.txt"), "utf8")).toBe("old");
      await tarInStreamed(agent.fs, { path: target.rel, overwrite: true }, archive);
      expect(await readFile(join(target.abs, "same.txt"), "utf8")).toBe("new");
      expect(await readFile(join(target.abs, "first.txt"), "utf8")).toBe("1");
    });

    it("refuses a file where the target has a directory, and a directory where it has a symlink", async () => {
      const target = await freshDir();
      await mkdir(join(target.abs, "thing"));
      await symlink("/etc", join(target.abs, "etc-link"));
      await expect(
        tarInStreamed(
          agent.fs,
          { path: target.rel, overwrite: true },
          await makeTar([{ name: "thing", content: "x" }]),
        ),
      ).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot extract the archive into "${target.abs}": member "thing" is not a directory but "${join(target.abs, "thing")}" is one. Nothing was extracted; remove "${join(target.abs, "thing")}" first, or extract elsewhere.`,
      });
      const through = await makeTar([
        { name: "etc-link/", type: "directory" },
        { name: "etc-link/devhatchery-owned", content: "x" },
      ]);
      await expect(tarInStreamed(agent.fs, { path: target.rel, overwrite: true }, through)).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: `Cannot extract the archive into "${target.abs}": member "etc-link" is a directory but "${join(target.abs, "etc-link")}" is not. Nothing was extracted; remove "${join(target.abs, "etc-link")}" first, or extract elsewhere.`,
      });
      await expect(lstat("/etc/devhatchery-owned")).rejects.toMatchObject({ code: "ENOENT" });
      expect((await readdir(target.abs)).sort()).toEqual(["etc-link", "thing"]);
    });
  });

  describe("hostile archives are refused whole, and nothing is written outside (or inside) the target", () => {
    const refusals: [string, TarMember[], string][] = [
      [
        "a ../ member",
        [{ name: "../escaped.txt", content: "x" }],
        `member "../escaped.txt" has a ".." component, which would leave the target. Nothing was extracted; ${REFUSED_DOTDOT}.`,
      ],
      [
        "a ../ inside a member",
        [{ name: "a/../../escaped.txt", content: "x" }],
        `member "a/../../escaped.txt" has a ".." component, which would leave the target. Nothing was extracted; ${REFUSED_DOTDOT}.`,
      ],
      [
        "an absolute member",
        [{ name: "/tmp/devhatchery-escaped.txt", content: "x" }],
        'member "/tmp/devhatchery-escaped.txt" has an absolute name. Nothing was extracted; create the archive with names relative to the directory it holds (e.g. tar -C DIR -cf - .).',
      ],
      [
        "a symlink pointing out of the target",
        [{ name: "escape", type: "symlink", linkname: "../../outside" }],
        'member "escape" is a symlink to "../../outside", which points outside the target. Nothing was extracted; archive what it points to instead (tar -h follows symlinks), or make the link point inside the archive.',
      ],
      [
        "an absolute symlink",
        [{ name: "passwd", type: "symlink", linkname: "/etc/passwd" }],
        'member "passwd" is a symlink to "/etc/passwd", which points outside the target. Nothing was extracted; archive what it points to instead (tar -h follows symlinks), or make the link point inside the archive.',
      ],
      [
        "a symlink escaping through another symlink",
        [
          { name: "x/", type: "directory" },
          { name: "x/up", type: "symlink", linkname: ".." },
          { name: "sneaky", type: "symlink", linkname: "x/up/.." },
        ],
        'member "sneaky" is a symlink to "x/up/..", which points outside the target. Nothing was extracted; archive what it points to instead (tar -h follows symlinks), or make the link point inside the archive.',
      ],
      [
        "a hard link out of the target",
        [{ name: "hard", type: "link", linkname: "../outside.txt" }],
        'member "hard" is a hard link to "../outside.txt", which is outside the target. Nothing was extracted; archive the file itself instead of a link to it.',
      ],
      [
        "an absolute hard link",
        [{ name: "shadow", type: "link", linkname: "/etc/passwd" }],
        'member "shadow" is a hard link to "/etc/passwd", which is outside the target. Nothing was extracted; archive the file itself instead of a link to it.',
      ],
      [
        "a hard link to a file that is not in the archive",
        [{ name: "hard", type: "link", linkname: "existing.txt" }],
        'member "hard" is a hard link to "existing.txt", which is not an earlier file member of the archive. Nothing was extracted; archive the file itself instead of a link to it.',
      ],
      [
        "a member written through a symlink",
        [
          { name: "real/", type: "directory" },
          { name: "via", type: "symlink", linkname: "real" },
          { name: "via/file.txt", content: "x" },
        ],
        'member "via/file.txt" would be written through the symlink "via" of an earlier member. Nothing was extracted; archive the directory the link points to instead.',
      ],
      [
        "a device file",
        [{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }],
        'member "null" is a character-device. Nothing was extracted; leave device files, FIFOs and sockets out of the archive.',
      ],
      [
        "a FIFO",
        [{ name: "pipe", type: "fifo" }],
        'member "pipe" is a fifo. Nothing was extracted; leave device files, FIFOs and sockets out of the archive.',
      ],
    ];

    it.each(refusals)("refuses %s", async (_what, hostile, reason) => {
      const target = await freshDir();
      await writeFile(join(target.abs, "existing.txt"), "untouched");
      const before = await describeTree(work("targets"));
      // Good members before and after the bad one: none of them may land either.
      const archive = await makeTar([
        { name: "good-before.txt", content: "g" },
        ...hostile,
        { name: "good-after.txt", content: "g" },
      ]);
      await expect(tarInStreamed(agent.fs, { path: target.rel }, archive)).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: `Cannot extract the archive into "${target.abs}": ${reason}`,
      });
      expect(await describeTree(work("targets"))).toEqual(before);
      for (const outside of [
        work("targets/escaped.txt"),
        work("escaped.txt"),
        work("outside"),
        "/tmp/devhatchery-escaped.txt",
      ]) {
        await expect(lstat(outside)).rejects.toMatchObject({ code: "ENOENT" });
      }
    });

    it("refuses a malformed or truncated archive and removes a target it created", async () => {
      await expect(
        tarInStreamed(
          agent.fs,
          { path: "targets/never", createParents: true },
          Buffer.from("this is not a tar archive at all".repeat(40)),
        ),
      ).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details:
          `Cannot extract the archive into "${work("targets/never")}": it is not a valid tar archive (Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?). ` +
          "Nothing was extracted; send an uncompressed tar (ustar, pax or GNU), decompressing .tar.gz or .tar.zst first.",
      });
      await expect(lstat(work("targets/never"))).rejects.toMatchObject({ code: "ENOENT" });
      const whole = await makeTar([{ name: "a.txt", content: Buffer.alloc(4096, 1) }]);
      const target = await freshDir();
      await expect(tarInStreamed(agent.fs, { path: target.rel }, whole.subarray(0, 2048))).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: `Cannot extract the archive into "${target.abs}": it is not a valid tar archive (Unexpected end of data). Nothing was extracted; send an uncompressed tar (ustar, pax or GNU), decompressing .tar.gz or .tar.zst first.`,
      });
      expect(await readdir(target.abs)).toEqual([]);
    });
  });

  describe("cancellation", () => {
    it("removes the staging directory when the client cancels an extraction midway", async () => {
      const target = await freshDir();
      const archive = await makeTar([{ name: "part.bin", content: randomBytes(512 * 1024) }]);
      const call = agent.fs.tarIn(authMetadata(), () => undefined);
      call.write({
        message: { $case: "header", value: { path: target.rel, createParents: false, overwrite: false } },
      } satisfies TarInRequest);
      call.write({ message: { $case: "data", value: archive.subarray(0, 256 * 1024) } } satisfies TarInRequest);
      expect(await eventually(async () => (await readdir(target.abs)).length > 0)).toBe(true);
      call.cancel();
      expect(await eventually(async () => (await readdir(target.abs)).length === 0)).toBe(true);
    });

    it("closes the files it was reading when the client cancels an archive midway", async () => {
      const big = work("cancel-out/big.bin");
      await mkdir(work("cancel-out"));
      await writeFile(big, randomBytes(16 * 1024 * 1024));
      const call = agent.fs.tarOut({ path: "cancel-out", include: [], exclude: [] }, authMetadata());
      call.on("error", () => undefined);
      const first = await new Promise<TarOutChunk>((resolve) => call.once("data", resolve));
      expect(first.data.length).toBeGreaterThan(0);
      expect((await openPaths()).includes(big)).toBe(true);
      call.cancel();
      expect(await eventually(async () => !(await openPaths()).includes(big))).toBe(true);
    });
  });
});
