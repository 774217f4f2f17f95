import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";

const INSPECTOR = fileURLToPath(new URL("../../node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js", import.meta.url));

interface InspectorRun {
  code: number;
  json: { result?: { tools?: { name: string; description?: string; inputSchema?: unknown; outputSchema?: unknown }[]; structuredContent?: Record<string, unknown>; isError?: boolean } };
  stderr: string;
}

describe("the MCP Inspector CLI as a third-party client", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-inspector-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-${suffix}`;
  let server: ControlPlaneProcess;

  /** One Inspector CLI invocation (a fresh MCP session each time), run with this Node. */
  function inspector(args: string[], auth = true): Promise<InspectorRun> {
    const argv = [INSPECTOR, "--cli", server.url, "--transport", "http", "--format", "json", ...args];
    if (auth) argv.push("--header", `Authorization: Bearer ${token}`);
    return new Promise((resolve) => {
      execFile(process.execPath, argv, { env: { ...process.env, MCP_INSPECTOR_SECRET_STORE: "memory" }, timeout: 90_000 }, (error, stdout, stderr) => {
        let json: InspectorRun["json"] = {};
        try {
          json = JSON.parse(stdout) as InspectorRun["json"];
        } catch {
          // Failures print no JSON; the exit code and stderr tell.
        }
        resolve({ code: typeof error?.code === "number" ? error.code : 0, json, stderr });
      });
    });
  }

  const call = (tool: string, args: Record<string, string>) =>
    inspector(["--method", "tools/call", "--tool-name", tool, ...Object.entries(args).flatMap(([key, value]) => ["--tool-arg", `${key}=${value}`])]);

  beforeAll(async () => {
    server = await startControlPlane({ DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`, DEVHATCHERY_RUNNER_NETWORK: network });
  });
  afterAll(async () => {
    await server?.stop();
    await removeTestRunners([principal], network);
  });

  it("lists the six tools with descriptions and schemas", async () => {
    const run = await inspector(["--method", "tools/list"]);
    expect(run.code, run.stderr).toBe(0);
    const tools = run.json.result?.tools ?? [];
    expect(tools.map((tool) => tool.name).sort()).toEqual(["exec", "fs_list", "fs_read", "fs_write", "runner_remove", "runner_spawn"]);
    for (const tool of tools) {
      expect(tool.description).toBeTruthy();
      expect(tool.inputSchema).toBeTruthy();
      expect(tool.outputSchema).toBeTruthy();
    }
  });

  it("drives spawn → exec → write → read → list → remove", async () => {
    const spawned = await call("runner_spawn", {});
    expect(spawned.code, spawned.stderr).toBe(0);
    const runner = spawned.json.result?.structuredContent?.runner_id as string;
    expect(runner).toMatch(/^r-[0-9a-f]{12}$/);

    const echoed = await call("exec", { runner, command: "echo hello from $(hostname)" });
    expect(echoed.json.result?.structuredContent).toMatchObject({ exit_code: 0, stdout: `hello from ${runner}\n` });

    const failed = await call("exec", { runner, command: "exit 4" });
    expect(failed.json.result?.structuredContent).toMatchObject({ exit_code: 4 });

    const written = await call("fs_write", { runner, path: "inspector/hello.txt", content: "written by the inspector" });
    expect(written.json.result?.structuredContent).toMatchObject({ file: { path: "/work/inspector/hello.txt", size: 24 } });

    const read = await call("fs_read", { runner, path: "inspector/hello.txt" });
    expect(read.json.result?.structuredContent).toMatchObject({ content: "written by the inspector" });

    const listed = await call("fs_list", { runner, path: "inspector" });
    expect(listed.json.result?.structuredContent).toMatchObject({ path: "/work/inspector", entries: [{ name: "hello.txt", type: "file" }] });

    const missing = await call("fs_read", { runner, path: "inspector/missing.txt" });
    expect(missing.code).toBe(5);

    const removed = await call("runner_remove", { runner });
    expect(removed.json.result?.structuredContent).toEqual({ runner_id: runner, removed: true });
  });

  it("is refused without a token", async () => {
    const run = await inspector(["--method", "tools/list"], false);
    expect(run.code).not.toBe(0);
    expect(run.json.result).toBeUndefined();
  });
});
