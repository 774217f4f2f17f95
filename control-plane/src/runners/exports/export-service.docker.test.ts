import { createHash, randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { extract as createExtract } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentDeliveryFixture, type AgentDeliveryFixture } from "../../../test/agent-delivery-fixture.js";
import { removeTestRunners } from "../../../test/docker-cleanup.js";
import { ControlPlaneError } from "../../errors.js";
import { createLogger } from "../../log.js";
import { DockerRuntime } from "../../runtime/docker-runtime.js";
import { createSqliteStateStore } from "../../store/sqlite-state-store.js";
import { ExecService } from "../exec/exec-service.js";
import type { ExportManifest, ManifestEntry } from "./export-manifest.js";
import { ExportService, type ExportRequest } from "./export-service.js";
import { MountPolicy } from "../mounts/mount-policy.js";
import { RunnerService } from "../runner-service.js";

const RUNNER_IMAGE = "devhatchery-test/runner:dev";
const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** Every member of a tar archive as a manifest entry, from the bytes themselves. */
async function membersOf(tar: Buffer): Promise<ManifestEntry[]> {
  const extract = createExtract();
  const members: ManifestEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      const { name, type, mode, linkname } = entry.header;
      const path = name.replace(/\/$/, "");
      if (type === "directory") members.push({ path, type, size: 0, mode: mode ?? 0 });
      if (type === "symlink") members.push({ path, type, size: 0, mode: mode ?? 0, link_target: linkname ?? "" });
      if (type === "file")
        members.push({
          path,
          type,
          size: Buffer.concat(chunks).length,
          mode: mode ?? 0,
          sha256: sha256(Buffer.concat(chunks)),
        });
    }
  })();
  extract.end(tar);
  await done;
  return members;
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ControlPlaneError);
  return { code: (error as ControlPlaneError).code, message: (error as ControlPlaneError).message };
}

describe("exports and mounts against the real Docker engine", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { id: `test-export-alice-${suffix}` };
  const bob = { id: `test-export-bob-${suffix}` };
  const network = `devhatchery-test-export-${suffix}`;
  const log = createLogger("silent");
  let base: string;
  let agentDelivery: AgentDeliveryFixture;
  let runners: RunnerService;
  let execs: ExecService;
  let exports: ExportService;
  let policy: MountPolicy;
  let runnerId: string;
  const sh = async (command: string): Promise<string> => {
    const result = await execs.run(alice, runnerId, { command }, () => {});
    expect(result, result.stderr).toMatchObject({ exitCode: 0 });
    return result.stdout;
  };
  const exportOf = (
    request: Partial<ExportRequest>,
    service = exports,
    signal?: AbortSignal,
    onProgress?: (bytes: number) => void,
  ) =>
    service.create(
      alice,
      runnerId,
      { path: "/work/project", include: [], exclude: [], format: "tar", destination: "export_root", ...request },
      onProgress,
      signal,
    );
  const entriesIn = async (path: string): Promise<string[]> => (await readdir(path).catch(() => [])).sort();

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-exports-"));
    for (const folder of ["data", "out", "other", "exports"]) await mkdir(join(base, folder));
    policy = new MountPolicy([
      { alias: "data", hostPath: join(base, "data"), allowRw: false },
      { alias: "out", hostPath: join(base, "out"), allowRw: true },
      { alias: "other", hostPath: join(base, "other"), allowRw: true },
    ]);
    agentDelivery = await createAgentDeliveryFixture(suffix);
    const runtime = new DockerRuntime(log, undefined, agentDelivery.options());
    runners = new RunnerService(
      runtime,
      createSqliteStateStore(":memory:"),
      { defaultImage: RUNNER_IMAGE, network, readyTimeoutMs: 15_000, mountPolicy: policy },
      log,
    );
    execs = new ExecService(runners, log);
    exports = new ExportService(
      runners,
      { root: join(base, "exports"), maxBytes: 512 * 1024 * 1024, mountPolicy: policy },
      log,
    );
    const runner = await runners.spawn(alice, { mounts: [{ alias: "data" }, { alias: "out", mode: "rw" }] });
    runnerId = runner.runnerId;
    await sh(
      "mkdir -p /work/project/src /work/project/node_modules/x && cd /work/project && printf 'int main(){}' > src/main.c && printf '#!/bin/sh\\n' > run.sh && chmod 755 run.sh " +
        "&& echo junk > node_modules/x/index.js && ln -s src/main.c link && mkdir -p /export/out/builds",
    );
  }, 120_000);
  afterAll(async () => {
    runners?.close();
    await removeTestRunners([alice.id, bob.id], network);
    await agentDelivery?.cleanup();
    await rm(base, { recursive: true, force: true });
  });

  it("mounts allowed roots at /export/<alias> with their modes: a write to the ro mount fails", async () => {
    expect(await sh("grep -E ' /export/(data|out) ' /proc/self/mounts | cut -d' ' -f2,4 | cut -d, -f1 | sort")).toBe(
      "/export/data ro\n/export/out rw\n",
    );
    const write = await execs.run(alice, runnerId, { command: "touch /export/data/x" }, () => {});
    expect(write).toMatchObject({
      exitCode: 1,
      stderr: "touch: cannot touch '/export/data/x': Read-only file system\n",
    });
    expect(await entriesIn(join(base, "out"))).toEqual(["builds"]);
  });

  it("refuses a mount asked rw where the alias only allows ro, before any container is created", async () => {
    expect(await refusal(runners.spawn(bob, { mounts: [{ alias: "data", mode: "rw" }] }))).toEqual({
      code: "PERMISSION_DENIED",
      message:
        'Mount alias "data" is read-only; it cannot be mounted "rw". Ask for mode "ro", or ask the operator to allow rw for it.',
    });
    expect(await runners.list(bob)).toEqual([]);
  });

  it.each(["tar", "tar.gz", "tar.zst"] as const)(
    "exports as %s to the caller's export folder; the archive matches its manifest",
    async (format) => {
      const record = await exportOf({ format, name: `project-${format}`, exclude: ["**/node_modules"] });
      const fileName = `project-${format}.${format}`;
      expect(record.hostPath).toBe(join(base, "exports", alice.id, fileName));
      const bytes = await readFile(record.hostPath);
      const manifest = JSON.parse(await readFile(`${record.hostPath}.manifest.json`, "utf8")) as ExportManifest;
      expect(manifest).toEqual(record.manifest);
      expect(manifest).toMatchObject({
        name: fileName,
        format,
        principal: alice.id,
        runner_id: runnerId,
        source_path: "/work/project",
        bytes_written: bytes.length,
        sha256: sha256(bytes),
        file_count: 2,
      });
      const tar = format === "tar.gz" ? gunzipSync(bytes) : format === "tar.zst" ? zstdDecompressSync(bytes) : bytes;
      expect(await membersOf(tar)).toEqual(manifest.files);
      expect(manifest.files.map((file) => file.path).sort()).toEqual(["link", "run.sh", "src", "src/main.c"]);
      expect(manifest.files.find((file) => file.path === "run.sh")).toEqual({
        path: "run.sh",
        type: "file",
        size: 10,
        mode: 0o755,
        sha256: sha256(Buffer.from("#!/bin/sh\n")),
      });
      expect(await entriesIn(join(base, "exports", ".staging"))).toEqual([]);
    },
  );

  it("exports as a folder into a rw mount: visible in the runner, files as in the manifest", async () => {
    const record = await exportOf({
      format: "dir",
      name: "tree",
      destination: "/export/out/builds",
      include: ["src/**", "link"],
    });
    expect(record).toMatchObject({
      hostPath: join(base, "out", "builds", "tree"),
      runnerPath: "/export/out/builds/tree",
    });
    expect(await sh("cat /export/out/builds/tree/src/main.c; readlink /export/out/builds/tree/link")).toBe(
      "int main(){}src/main.c\n",
    );
    expect(await readlink(join(record.hostPath, "link"))).toBe("src/main.c");
    expect(record.manifest.files).toEqual([
      { path: "link", type: "symlink", size: 0, mode: 0o777, link_target: "src/main.c" },
      { path: "src", type: "directory", size: 0, mode: 0o755 },
      { path: "src/main.c", type: "file", size: 12, mode: 0o644, sha256: sha256(Buffer.from("int main(){}")) },
    ]);
    expect(await entriesIn(join(base, "out", "builds"))).toEqual(["tree", "tree.manifest.json"]);
  });

  it("refuses destinations that escape: a symlink in the mount to /etc or to another alias, .., ro mounts, unmounted paths", async () => {
    await sh("ln -s /etc /export/out/to-etc && ln -s " + JSON.stringify(join(base, "other")) + " /export/out/to-other");
    expect(await refusal(exportOf({ destination: "/export/out/to-etc" }))).toEqual({
      code: "PERMISSION_DENIED",
      message:
        'The destination "/export/out/to-etc" resolves (through a symlink) outside the mount "/export/out"; name a real folder inside the mount.',
    });
    expect((await refusal(exportOf({ destination: "/export/out/to-other" }))).code).toBe("PERMISSION_DENIED");
    expect(await refusal(exportOf({ destination: "/export/out/../data" }))).toEqual({
      code: "INVALID_ARGUMENT",
      message: 'The destination "/export/out/../data" has a ".." component; name the folder under the mount directly.',
    });
    expect((await refusal(exportOf({ destination: "/export/data" }))).code).toBe("PERMISSION_DENIED");
    expect(await refusal(exportOf({ destination: "/tmp" }))).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'The destination "/tmp" is not under a mount of this runner (its mounts: "/export/data", "/export/out"); spawn the runner with a read-write mount, or use "export_root".',
    });
    expect(await refusal(exportOf({ name: "../bob/x" }))).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'The export name "../bob/x" is not allowed; use letters, digits, ".", "_" and "-" (starting with a letter or digit, at most 100), with no "/".',
    });
    expect(await readdir(join(base, "other"))).toEqual([]);
    expect(await entriesIn(join(base, "exports"))).not.toContain("bob");
  });

  it("refuses a folder export of a runner symlink pointing at /etc, writing nothing", async () => {
    await sh("mkdir -p /work/evil && ln -s /etc /work/evil/etc && echo hi > /work/evil/a");
    expect(await refusal(exportOf({ path: "/work/evil", format: "dir", name: "evil" }))).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'Cannot export "etc" as a folder: it is a symlink to "/etc", which points outside the export. Nothing was written; leave it out with exclude, or export as "tar", "tar.gz" or "tar.zst", which keep symlinks as they are.',
    });
    expect((await entriesIn(join(base, "exports", alice.id))).filter((name) => name.startsWith("evil"))).toEqual([]);
  });

  it("keeps exports apart by principal: another principal sees none and cannot reach the runner", async () => {
    expect((await exports.list(alice)).map((record) => record.manifest.name)).toEqual(
      expect.arrayContaining(["project-tar.tar", "project-tar.gz.tar.gz"]),
    );
    expect(await exports.list(bob)).toEqual([]);
    expect(
      (
        await refusal(
          exports.create(bob, runnerId, {
            path: "/work",
            include: [],
            exclude: [],
            format: "tar",
            destination: "export_root",
          }),
        )
      ).code,
    ).toBe("NOT_FOUND");
    expect(await refusal(exportOf({ name: "project-tar" }))).toEqual({
      code: "ALREADY_EXISTS",
      message: `An export named "project-tar.tar" already exists in "${join(base, "exports", alice.id)}"; choose another name (or remove the old one).`,
    });
  });

  it("leaves nothing behind when an export goes over the size limit or is cancelled halfway", async () => {
    await sh("mkdir -p /work/big && head -c 67108864 /dev/urandom > /work/big/blob");
    const before = await entriesIn(join(base, "exports", alice.id));
    const small = new ExportService(
      runners,
      { root: join(base, "exports"), maxBytes: 1024 * 1024, mountPolicy: policy },
      log,
    );
    expect(await refusal(exportOf({ path: "/work/big", name: "big" }, small))).toEqual({
      code: "RESOURCE_EXHAUSTED",
      message:
        'The export of "/work/big" is larger than the limit of 1048576 bytes (uncompressed) and was stopped; nothing was written. Export less (a subfolder, or exclude globs such as "**/node_modules").',
    });
    const controller = new AbortController();
    const progress: number[] = [];
    const cancelled = await refusal(
      exportOf({ path: "/work/big", name: "big", format: "tar.gz" }, exports, controller.signal, (bytes) => {
        progress.push(bytes);
        controller.abort();
      }),
    );
    expect(cancelled.code).toBe("CANCELLED");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toBeLessThan(67108864);
    expect(await entriesIn(join(base, "exports", alice.id))).toEqual(before);
    expect(await entriesIn(join(base, "exports", ".staging"))).toEqual([]);
    expect(await lstat(join(base, "exports", alice.id, "big.tar.gz")).catch(() => undefined)).toBeUndefined();
  });
});
