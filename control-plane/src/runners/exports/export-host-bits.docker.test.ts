import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMountFixture, type MountFixture } from "../../../test/mount-fixture.js";
import { ExportService } from "./export-service.js";
import type { Principal } from "../runner.js";

const SPECIAL_BITS = 0o7000;

describe("what a folder export lands on the host", () => {
  let fx: MountFixture;
  let alice: Principal;
  let exports: ExportService;
  let runnerId: string;

  beforeAll(async () => {
    fx = await createMountFixture("export-bits", { aliases: ["out"], folders: ["exports"] });
    alice = fx.principal("export-bits");
    exports = new ExportService(
      fx.runners,
      { root: join(fx.base, "exports"), maxBytes: 64 * 1024 * 1024, mountPolicy: fx.policy },
      fx.log,
    );
    runnerId = (await fx.runners.spawn(alice, { mounts: [{ alias: "out", mode: "rw" }] })).runnerId;
    // As root in the runner: a setuid copy of a shell, a setgid one, a setgid+sticky folder, files of other owners, a FIFO.
    const made = await fx.execs.run(
      alice,
      runnerId,
      {
        command:
          "set -e; mkdir -p /work/planted/shared /export/out/builds && cd /work/planted && cp /bin/sh rootshell && chmod 4755 rootshell " +
          "&& cp /bin/sh groupshell && chown 4242:4242 groupshell && chmod 2755 groupshell && chmod 3777 shared " +
          "&& echo x > shared/note && chown 4242:4242 shared/note && mkfifo pipe",
      },
      () => {},
    );
    expect(made, made.stderr).toMatchObject({ exitCode: 0 });
  }, 120_000);
  afterAll(async () => {
    await fx?.cleanup();
  });

  /** Every path under `root` with its mode bits and owner. */
  async function treeOf(
    root: string,
    prefix = "",
  ): Promise<{ path: string; mode: number; uid: number; gid: number }[]> {
    const found: { path: string; mode: number; uid: number; gid: number }[] = [];
    for (const name of (await readdir(join(root, prefix))).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      const stats = await lstat(join(root, path));
      found.push({ path, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid });
      if (stats.isDirectory()) found.push(...(await treeOf(root, path)));
    }
    return found;
  }

  it.each([
    ["the export root", "export_root", () => join(fx.base, "exports", alice.id, "planted")],
    ["a read-write mount", "/export/out/builds", () => join(fx.base, "out", "builds", "planted")],
  ])(
    "into %s: no setuid, setgid or sticky bit, no FIFO, everything owned by the control plane's user",
    async (_label, destination, hostPath) => {
      const record = await exports.create(alice, runnerId, {
        path: "/work/planted",
        include: [],
        exclude: [],
        format: "dir",
        destination,
        name: "planted",
      });
      expect(record.hostPath).toBe(hostPath());
      const tree = await treeOf(record.hostPath);
      expect(tree.map(({ path, mode }) => [path, mode])).toEqual([
        ["groupshell", 0o755],
        ["rootshell", 0o755],
        ["shared", 0o777],
        ["shared/note", 0o644],
      ]);
      expect(tree.filter(({ mode }) => (mode & SPECIAL_BITS) !== 0)).toEqual([]);
      for (const entry of tree) expect(entry).toMatchObject({ uid: process.getuid?.(), gid: process.getgid?.() });
      expect(record.manifest.files.map(({ path, mode }) => [path, mode])).toEqual([
        ["groupshell", 0o755],
        ["rootshell", 0o755],
        ["shared", 0o777],
        ["shared/note", 0o644],
      ]);
    },
  );
});
