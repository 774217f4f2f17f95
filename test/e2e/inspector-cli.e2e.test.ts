import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { removeTestWorkspaces } from "../support/runners-fixture.js";
import { TOOL_NAMES } from "../support/tool-names.js";

const INSPECTOR = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js", import.meta.url),
);

interface InspectorRun {
  code: number;
  json: {
    result?: {
      tools?: { name: string; description?: string; inputSchema?: unknown; outputSchema?: unknown }[];
      structuredContent?: Record<string, unknown>;
      isError?: boolean;
    };
  };
  stderr: string;
}

describe("the MCP Inspector CLI as a third-party client", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-inspector-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-${suffix}`;
  let server: ControlPlaneProcess;
  let exportRoot = "";

  /** One Inspector CLI invocation (a fresh MCP session each time), run with this Node. */
  function inspector(args: string[], auth = true): Promise<InspectorRun> {
    const argv = [INSPECTOR, "--cli", server.url, "--transport", "http", "--format", "json", ...args];
    if (auth) argv.push("--header", `Authorization: Bearer ${token}`);
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        argv,
        { env: { ...process.env, MCP_INSPECTOR_SECRET_STORE: "memory" }, timeout: 90_000 },
        (error, stdout, stderr) => {
          let json: InspectorRun["json"] = {};
          try {
            json = JSON.parse(stdout) as InspectorRun["json"];
          } catch {
            // Failures print no JSON; the exit code and stderr tell.
          }
          resolve({ code: typeof error?.code === "number" ? error.code : 0, json, stderr });
        },
      );
    });
  }

  const call = async (tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const run = await inspector([
      "--method",
      "tools/call",
      "--tool-name",
      tool,
      "--tool-args-json",
      JSON.stringify(args),
    ]);
    expect(run.code, `${tool}: ${run.stderr}`).toBe(0);
    expect(run.json.result?.isError, tool).toBeFalsy();
    called.add(tool);
    return run.json.result?.structuredContent ?? {};
  };
  const called = new Set<string>();

  beforeAll(async () => {
    exportRoot = await mkdtemp(join(tmpdir(), "devhatchery-inspector-exports-"));
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_EXPORT_ROOT: exportRoot,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await removeTestWorkspaces([{ id: principal, token }], network);
    await rm(exportRoot, { recursive: true, force: true });
  });

  it("lists every tool with descriptions and schemas", async () => {
    const run = await inspector(["--method", "tools/list"]);
    expect(run.code, run.stderr).toBe(0);
    const tools = run.json.result?.tools ?? [];
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOL_NAMES);
    for (const tool of tools) {
      expect(tool.description).toBeTruthy();
      expect(tool.inputSchema).toBeTruthy();
      expect(tool.outputSchema).toBeTruthy();
    }
  });

  it("drives every tool, each in its own Inspector session", async () => {
    const runner = (await call("runner_spawn", { alias: "inspected", workspace_key: "inspector-ws" }))
      .runner_id as string;
    expect(runner).toMatch(/^r-[0-9a-f]{12}$/);
    expect(await call("runner_list", {})).toMatchObject({
      runners: [{ runner_id: runner, alias: "inspected", workspace_key: "inspector-ws", status: "ready" }],
    });
    expect(await call("system_status", {})).toMatchObject({
      docker_reachable: true,
      runner_count: 1,
      workspace_count: 1,
    });

    expect(await call("exec", { runner, command: "echo hello from $(hostname)" })).toMatchObject({
      exit_code: 0,
      stdout: `hello from ${runner}\n`,
    });
    const reader = (
      await call("exec", { runner, command: "read name; echo hello $name", stdin_open: true, yield_ms: 0 })
    ).exec_id as string;
    expect(await call("exec_write", { runner, exec_id: reader, data: "inspector\n", close: true })).toMatchObject({
      closed: true,
    });
    expect(await call("exec_read", { runner, exec_id: reader, cursor: 0, wait_ms: 10_000 })).toMatchObject({
      stdout: "hello inspector\n",
    });
    const terminal = (await call("exec", { runner, command: "sleep 60", pty: true, yield_ms: 0 })).exec_id as string;
    expect(await call("exec_resize", { runner, exec_id: terminal, cols: 120, rows: 40 })).toMatchObject({
      exec: { exec_id: terminal, pty: true },
    });
    await call("exec_signal", { runner, exec_id: terminal, signal: "SIGKILL" });
    const sleeper = (await call("exec", { runner, command: "sleep 60", yield_ms: 0 })).exec_id as string;
    await call("exec_signal", { runner, exec_id: sleeper, signal: "SIGKILL" });
    const listed = (await call("exec_list", { runner })).execs as { exec_id: string }[];
    expect(listed.map((exec) => exec.exec_id)).toEqual(expect.arrayContaining([reader, sleeper]));

    const watchId = (await call("fs_watch", { runner, path: "/work" })).watch_id as string;
    expect(
      await call("fs_write", { runner, path: "inspector/hello.txt", content: "written by the inspector" }),
    ).toMatchObject({ file: { path: "/work/inspector/hello.txt", size: 24 } });
    expect(await call("fs_read", { runner, path: "inspector/hello.txt" })).toMatchObject({
      content: "written by the inspector",
    });
    expect(await call("fs_stat", { runner, path: "inspector/hello.txt" })).toMatchObject({
      file: { type: "file", size: 24 },
    });
    expect(
      await call("fs_edit", { runner, path: "inspector/hello.txt", old_string: "written", new_string: "Written" }),
    ).toMatchObject({ replacements: 1, file: { path: "/work/inspector/hello.txt", size: 24 } });
    expect(await call("fs_mkdir", { runner, path: "inspector/sub" })).toMatchObject({
      directory: { path: "/work/inspector/sub" },
    });
    expect(
      await call("fs_move", { runner, source: "inspector/hello.txt", destination: "inspector/sub/hello.txt" }),
    ).toMatchObject({ file: { path: "/work/inspector/sub/hello.txt" } });
    expect(await call("fs_list", { runner, path: "inspector", depth: 2 })).toMatchObject({ path: "/work/inspector" });
    const changes = await call("fs_changes", { runner, watch_id: watchId, cursor: 0, wait_ms: 5_000 });
    expect(JSON.stringify(changes)).toContain("inspector");
    expect(await call("fs_unwatch", { runner, watch_id: watchId })).toMatchObject({ watch_id: watchId, closed: true });
    const exported = await call("export_create", { runner, path: "inspector", format: "tar.gz" });
    expect(exported).toMatchObject({ format: "tar.gz", file_count: 1 });
    const exports = (await call("export_list", {})).exports as { export_id: string }[];
    expect(exports.map((entry) => entry.export_id)).toContain(exported.export_id);
    expect(await call("fs_remove", { runner, path: "inspector", recursive: true })).toMatchObject({
      removed: { path: "/work/inspector" },
    });

    const missing = await inspector([
      "--method",
      "tools/call",
      "--tool-name",
      "fs_read",
      "--tool-args-json",
      JSON.stringify({ runner, path: "inspector/missing.txt" }),
    ]);
    expect(missing.code).toBe(5);

    expect(await call("runner_pause", { runner: "inspected" })).toMatchObject({ runner_id: runner, status: "paused" });
    expect(await call("runner_resume", { runner: "inspected" })).toMatchObject({ runner_id: runner, status: "ready" });
    expect(await call("runner_stop", { runner: "inspected" })).toMatchObject({ runner_id: runner, status: "stopped" });
    expect(await call("runner_attach", { runner: "inspector-ws" })).toMatchObject({
      runner_id: runner,
      action: "started",
      status: "ready",
    });
    const snapshot = await call("snapshot_create", { runner, name: "inspector-snap" });
    expect(snapshot).toMatchObject({
      name: "inspector-snap",
      source_runner: runner,
      snapshot_id: expect.stringMatching(/^s-[0-9a-f]{12}$/),
    });
    expect(await call("snapshot_list", {})).toMatchObject({
      snapshots: [{ snapshot_id: snapshot.snapshot_id, name: "inspector-snap" }],
    });
    expect(await call("snapshot_remove", { snapshot: "inspector-snap" })).toMatchObject({
      removed: true,
      snapshot: { snapshot_id: snapshot.snapshot_id },
    });
    expect(await call("runner_remove", { runner })).toEqual({
      runner_id: runner,
      removed: true,
      workspace_key: "inspector-ws",
      volume_removed: false,
    });
    // A job: run to its end, then looked at, listed and (already ended) cancelled.
    const job = await call("job_run", { task: "echo from a job", storage: "tmpfs" });
    expect(job).toMatchObject({ status: "succeeded", exit_code: 0, output_tail: "from a job\n" });
    expect(await call("job_get", { job: job.job_id, output_cursor: 0 })).toMatchObject({
      output: { text: "from a job\n", eof: true },
    });
    expect((await call("job_list", {})).jobs).toMatchObject([{ job_id: job.job_id, status: "succeeded" }]);
    expect(await call("job_cancel", { job: job.job_id })).toMatchObject({ status: "succeeded" });
    const workspaces = (await call("volume_list", { sizes: false })).workspaces as { workspace_key: string }[];
    expect(workspaces.map((workspace) => workspace.workspace_key)).toEqual(["inspector-ws"]);
    expect(await call("volume_remove", { workspace_key: "inspector-ws" })).toMatchObject({
      removed: true,
      workspace: { workspace_key: "inspector-ws" },
    });
    expect([...called].sort()).toEqual(TOOL_NAMES);
  });

  it("is refused without a token", async () => {
    const run = await inspector(["--method", "tools/list"], false);
    expect(run.code).not.toBe(0);
    expect(run.json.result).toBeUndefined();
  });
});
