import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTarArchive } from "./tar-archive.js";

const run = promisify(execFile);

describe("createTarArchive", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-tar-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes an archive that GNU tar lists and extracts with the same names, modes and contents", async () => {
    const big = Buffer.alloc(70_000, "x");
    await writeFile(join(dir, "source"), big);
    const archive = join(dir, "out.tar");
    await pipeline(
      createTarArchive(
        [
          { type: "directory", path: "bin", mode: 0o755 },
          { type: "file", path: "bin/tool", mode: 0o755, size: big.length, sourcePath: join(dir, "source") },
          { type: "file", path: "note.txt", mode: 0o644, content: Buffer.from("hello\n") },
        ],
        new Date("2026-01-02T03:04:05Z"),
      ),
      createWriteStream(archive),
    );
    expect((await stat(archive)).size % 512).toBe(0);
    const { stdout } = await run("tar", ["-tvf", archive, "--numeric-owner", "--full-time"], { env: { TZ: "UTC" } });
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      "drwxr-xr-x 0/0               0 2026-01-02 03:04:05 bin/",
      "-rwxr-xr-x 0/0           70000 2026-01-02 03:04:05 bin/tool",
      "-rw-r--r-- 0/0               6 2026-01-02 03:04:05 note.txt",
    ]);
    await run("tar", ["-xf", archive, "-C", dir]);
    expect(await readFile(join(dir, "bin/tool"))).toEqual(big);
    expect(await readFile(join(dir, "note.txt"), "utf8")).toBe("hello\n");
  });

  it("fails when a file does not have the size it was announced with", async () => {
    await writeFile(join(dir, "source"), "four");
    const archive = createTarArchive([
      { type: "file", path: "f", mode: 0o644, size: 10, sourcePath: join(dir, "source") },
    ]);
    await expect(pipeline(archive, createWriteStream(join(dir, "out.tar")))).rejects.toThrow(
      `File "${join(dir, "source")}" changed while it was archived (expected 10 bytes, read 4); retry.`,
    );
  });

  it("refuses names longer than a ustar header holds", () => {
    const name = "n".repeat(101);
    const archive = createTarArchive([{ type: "file", path: name, mode: 0o644, content: Buffer.from("") }]);
    return expect(archive.toArray()).rejects.toThrow(
      `Tar entry name "${name}" is longer than 100 bytes; use a shorter path.`,
    );
  });
});
