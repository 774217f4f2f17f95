import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, connectClient, textOf } from "../support/mcp-client.js";

const sha256 = (bytes: Buffer | string): string => createHash("sha256").update(bytes).digest("hex");

describe("export_create and export_list through MCP, with mounts from runner_spawn", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { principal: `e2e-export-alice-${suffix}`, token: randomBytes(24).toString("hex") };
  const bob = { principal: `e2e-export-bob-${suffix}`, token: randomBytes(24).toString("hex") };
  const network = `devhatchery-e2e-export-${suffix}`;
  let base: string;
  let server: ControlPlaneProcess;
  let asAlice: Client;
  let asBob: Client;
  let runner: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-exports-"));
    for (const folder of ["data", "out", "exports"]) await mkdir(join(base, folder));
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${alice.principal}:${alice.token},${bob.principal}:${bob.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_ALLOWED_ROOTS: `data=${join(base, "data")}:ro,out=${join(base, "out")}:rw`,
      DEVHATCHERY_EXPORT_ROOT: join(base, "exports"),
    });
    asAlice = await connectClient(server.url, alice.token);
    asBob = await connectClient(server.url, bob.token);
    const spawned = await callTool(asAlice, "runner_spawn", {
      mounts: [{ alias: "data" }, { alias: "out", mode: "rw" }],
    });
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    runner = spawned.structured.runner_id as string;
    const setup = await callTool(asAlice, "exec", {
      runner,
      command:
        "mkdir -p /work/app/src && printf 'print(42)\\n' > /work/app/src/main.py && printf 'x' > /work/app/notes.txt",
    });
    expect(setup.structured.exit_code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await asAlice?.close();
    await asBob?.close();
    expect(await server?.stop()).toBe(0);
    await removeTestRunners([alice.principal, bob.principal], network);
    await rm(base, { recursive: true, force: true });
  });

  it("exports a folder as tar.zst into the caller's export folder and lists it for the caller only", async () => {
    const created = await callTool(asAlice, "export_create", {
      runner,
      path: "/work/app",
      format: "tar.zst",
      name: "app",
      include: ["**/*.py"],
    });
    expect(created.result.isError, textOf(created.result)).toBeFalsy();
    const hostPath = join(base, "exports", alice.principal, "app.tar.zst");
    const bytes = await readFile(hostPath);
    expect(created.structured).toMatchObject({
      name: "app.tar.zst",
      format: "tar.zst",
      runner_id: runner,
      source_path: "/work/app",
      file_count: 1,
      host_path: hostPath,
      bytes_written: bytes.length,
      sha256: sha256(bytes),
    });
    expect(zstdDecompressSync(bytes).includes(Buffer.from("print(42)\n"))).toBe(true);
    const manifest = JSON.parse(await readFile(`${hostPath}.manifest.json`, "utf8")) as { files: unknown[] };
    expect(manifest.files).toEqual([
      { path: "src", type: "directory", size: 0, mode: 0o755 },
      { path: "src/main.py", type: "file", size: 10, mode: 0o644, sha256: sha256("print(42)\n") },
    ]);

    const listed = await callTool(asAlice, "export_list", {});
    expect(listed.structured.exports).toEqual([created.structured]);
    const bobs = await callTool(asBob, "export_list", {});
    expect(bobs.structured).toEqual({ exports: [] });
    expect(textOf(bobs.result)).toBe("No exports yet; create one with export_create.");
  });

  it("exports as a folder straight into the runner's rw mount", async () => {
    const created = await callTool(asAlice, "export_create", {
      runner,
      path: "/work/app",
      format: "dir",
      destination: "/export/out",
      name: "app-dir",
    });
    expect(created.result.isError, textOf(created.result)).toBeFalsy();
    expect(created.structured).toMatchObject({
      runner_path: "/export/out/app-dir",
      host_path: join(base, "out", "app-dir"),
      file_count: 2,
    });
    expect(await readFile(join(base, "out", "app-dir", "src", "main.py"), "utf8")).toBe("print(42)\n");
    expect((await readdir(join(base, "out"))).sort()).toEqual(["app-dir", "app-dir.manifest.json"]);
    const inRunner = await callTool(asAlice, "exec", { runner, command: "cat /export/out/app-dir/notes.txt" });
    expect(inRunner.structured.stdout).toBe("x");
  });

  it("refuses the hostile cases with clear errors", async () => {
    const rw = await callTool(asAlice, "runner_spawn", { mounts: [{ alias: "data", mode: "rw" }] });
    expect(rw.result.isError).toBe(true);
    expect(textOf(rw.result)).toBe(
      'Error PERMISSION_DENIED: Mount alias "data" is read-only; it cannot be mounted "rw". Ask for mode "ro", or ask the operator to allow rw for it.\n' +
        'Call runner_spawn again with mode "ro" for this mount; to get files out, export_create writes to your export folder.',
    );
    const dots = await callTool(asAlice, "runner_spawn", { mounts: [{ alias: "out", subpath: "../data" }] });
    expect(textOf(dots.result)).toMatch(
      /^Error INVALID_ARGUMENT: The subpath of mount "out" "..\/data" has a ".." component/,
    );
    await callTool(asAlice, "exec", { runner, command: "ln -s /etc /export/out/etc" });
    const escape = await callTool(asAlice, "export_create", {
      runner,
      path: "/work/app",
      destination: "/export/out/etc",
    });
    expect(textOf(escape.result)).toMatch(
      /^Error PERMISSION_DENIED: The destination "\/export\/out\/etc" resolves \(through a symlink\) outside the mount "\/export\/out"/,
    );
    const ro = await callTool(asAlice, "export_create", { runner, path: "/work/app", destination: "/export/data" });
    expect(textOf(ro.result)).toMatch(/^Error PERMISSION_DENIED: The mount "\/export\/data" is read-only/);
    const bobs = await callTool(asBob, "export_create", { runner, path: "/work/app" });
    expect(textOf(bobs.result)).toMatch(
      new RegExp(`^Error NOT_FOUND: Runner "${runner}" not found for this principal`),
    );
    expect((await readdir(join(base, "exports"))).sort()).toEqual([".staging", alice.principal]);
    expect(await readdir(join(base, "exports", ".staging"))).toEqual([]);
    expect(await readdir(join(base, "data"))).toEqual([]);
  });
});
