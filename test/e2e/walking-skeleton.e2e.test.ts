import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRunners, docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { storedRunnerToken } from "../support/runner-token.js";
import { callTool, connectClient, textOf } from "../support/mcp-client.js";
import { TOOL_NAMES } from "../support/tool-names.js";

describe("MCP client → control plane → Docker → agent", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { principal: `e2e-alice-${suffix}`, token: randomBytes(24).toString("hex") };
  const bob = { principal: `e2e-bob-${suffix}`, token: randomBytes(24).toString("hex") };
  const network = `devhatchery-e2e-${suffix}`;
  let server: ControlPlaneProcess;
  let asAlice: Client;
  let asBob: Client;
  let runnerId: string;

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${alice.principal}:${alice.token},${bob.principal}:${bob.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    asAlice = await connectClient(server.url, alice.token);
    asBob = await connectClient(server.url, bob.token);
  });

  afterAll(async () => {
    await asAlice?.close();
    await asBob?.close();
    const code = await server?.stop();
    await removeTestRunners([alice.principal, bob.principal], network);
    expect(code).toBe(0);
  });

  it("lists every tool, each with a description, an input schema and an output schema", async () => {
    const { tools } = await asAlice.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOL_NAMES);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(40);
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type).toBe("object");
      expect(tool.annotations).toBeDefined();
    }
  });

  it("spawns a runner and reports progress until it is ready", async () => {
    const { result, progress, structured } = await callTool(asAlice, "runner_spawn", {});
    expect(result.isError).toBeFalsy();
    expect(structured).toMatchObject({ image: "devhatchery-test/runner:dev", status: "ready" });
    expect(progress.map((p) => p.message)).toEqual(["creating", "starting", "ready"]);
    runnerId = structured.runner_id as string;
    expect(runnerId).toMatch(/^r-[0-9a-f]{12}$/);
    expect(await countRunners(alice.principal)).toBe(1);
  });

  it("runs echo and streams its output as progress notifications", async () => {
    const { result, progress, structured } = await callTool(asAlice, "exec", {
      runner: runnerId,
      command: "for i in 1 2 3; do echo line-$i; sleep 0.2; done",
    });
    expect(result.isError).toBeFalsy();
    expect(structured).toMatchObject({
      exit_code: 0,
      reason: "exited",
      stdout: "line-1\nline-2\nline-3\n",
      stderr: "",
      signal: null,
    });
    expect(progress.map((p) => p.message).join("")).toBe("line-1\nline-2\nline-3\n");
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));
  });

  it("returns a failing command's exit code and stderr as a normal result", async () => {
    const { result, structured } = await callTool(asAlice, "exec", {
      runner: runnerId,
      command: ["sh", "-c", "echo oops >&2; exit 3"],
    });
    expect(result.isError).toBeFalsy();
    expect(structured).toMatchObject({ exit_code: 3, reason: "exited", stdout: "", stderr: "oops\n" });
    expect(textOf(result)).toMatch(/^exit code 3 \(\d+ ms\)\n--- stderr ---\noops\n$/);
  });

  it("passes cwd, env and timeout_ms", async () => {
    const { structured } = await callTool(asAlice, "exec", {
      runner: runnerId,
      command: 'echo "$(pwd) $WHO"',
      cwd: "/tmp",
      env: { WHO: "alice" },
    });
    expect(structured.stdout).toBe("/tmp alice\n");
    const timed = await callTool(asAlice, "exec", { runner: runnerId, command: "sleep 20", timeout_ms: 300 });
    expect(timed.structured).toMatchObject({ reason: "timed_out", exit_code: null, signal: "SIGTERM" });
  });

  it("writes a file, reads it back and lists it", async () => {
    const written = await callTool(asAlice, "fs_write", {
      runner: runnerId,
      path: "notes/todo.txt",
      content: "ship it\n",
      mode: "0600",
    });
    expect(written.structured.file).toMatchObject({
      path: "/work/notes/todo.txt",
      size: 8,
      mode: "0600",
      type: "file",
    });
    const read = await callTool(asAlice, "fs_read", { runner: runnerId, path: "/work/notes/todo.txt" });
    expect(read.structured).toMatchObject({ content: "ship it\n", encoding: "utf8", length: 8, eof: true });
    const binary = await callTool(asAlice, "fs_write", {
      runner: runnerId,
      path: "notes/blob.bin",
      content: Buffer.from([0, 1, 255]).toString("base64"),
      encoding: "base64",
    });
    expect(binary.structured.file).toMatchObject({ size: 3 });
    const listed = await callTool(asAlice, "fs_list", { runner: runnerId, path: "notes" });
    expect(listed.structured).toMatchObject({ path: "/work/notes", truncated: false });
    expect((listed.structured.entries as { name: string }[]).map((entry) => entry.name)).toEqual([
      "blob.bin",
      "todo.txt",
    ]);
    const viaExec = await callTool(asAlice, "exec", {
      runner: runnerId,
      command: "od -An -tu1 notes/blob.bin | tr -s ' '",
    });
    expect(viaExec.structured.stdout).toBe(" 0 1 255\n");
  });

  it("turns bad input into tool errors that say how to recover", async () => {
    const missing = await callTool(asAlice, "fs_read", { runner: runnerId, path: "/nope.txt" });
    expect(missing.result.isError).toBe(true);
    expect(textOf(missing.result)).toBe(
      'Error NOT_FOUND: Cannot read "/nope.txt": no such file or directory\nCheck the path or name above: fs_list shows what a folder in the runner holds, runner_list shows your runners.',
    );
    // "build-1" could be an alias or a workspace key: it is looked up, and not found.
    const unknownName = await callTool(asAlice, "exec", { runner: "build-1", command: "true" });
    expect(textOf(unknownName.result)).toBe(
      'Error NOT_FOUND: Runner "build-1" not found for this principal; spawn one with runner_spawn.\nrunner_list shows your runners (id, alias and workspace_key each work as `runner`); runner_attach brings back a workspace from volume_list, runner_spawn starts a new runner.',
    );
    const badRef = await callTool(asAlice, "exec", { runner: "build 1", command: "true" });
    expect(textOf(badRef.result)).toBe(
      'Error INVALID_ARGUMENT: "build 1" is not a runner id, alias or workspace key (a runner id is "r-" and 12 hex digits; aliases and keys are letters, digits, ".", "_" and "-"); list your runners with runner_list.\nCorrect the argument named above and call the tool again.',
    );
  });

  it("keeps alice's runner invisible and untouchable for bob", async () => {
    const notFound = `Error NOT_FOUND: Runner "${runnerId}" not found for this principal; spawn one with runner_spawn.`;
    for (const [tool, args] of [
      ["exec", { runner: runnerId, command: "touch /work/bob-was-here" }],
      ["fs_read", { runner: runnerId, path: "/work/notes/todo.txt" }],
      ["fs_write", { runner: runnerId, path: "/work/notes/todo.txt", content: "pwned" }],
      ["fs_list", { runner: runnerId, path: "/work" }],
      ["runner_remove", { runner: runnerId }],
    ] as const) {
      const { result } = await callTool(asBob, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result).startsWith(notFound), tool).toBe(true);
    }
    const still = await callTool(asAlice, "fs_read", { runner: runnerId, path: "/work/notes/todo.txt" });
    expect(still.structured.content).toBe("ship it\n");
    const untouched = await callTool(asAlice, "exec", {
      runner: runnerId,
      command: "test -e /work/bob-was-here; echo $?",
    });
    expect(untouched.structured.stdout).toBe("1\n");
  });

  it("answers 401 to a request without a valid token", async () => {
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } },
    };
    for (const authorization of [undefined, "Bearer not-a-valid-token-at-all"]) {
      const response = await fetch(server.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify(init),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
    }
    await expect(connectClient(server.url)).rejects.toThrow();
  });

  it("shows the agent's debug view through the control plane, to the owner only", async () => {
    const debugUrl = server.url.replace(/\/mcp$/, `/runners/${runnerId}/debug`);
    const asOwner = await fetch(debugUrl, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(asOwner.status).toBe(200);
    const view = (await asOwner.json()) as {
      version: string;
      processes: { command: string }[];
      memory: { rss_bytes: number };
    };
    expect(view.version).toBe("0.1.0");
    expect(view.memory.rss_bytes).toBeGreaterThan(0);
    expect(view.processes.map((process) => process.command)).toContain(
      "for i in 1 2 3; do echo line-$i; sleep 0.2; done",
    );
    const html = await fetch(debugUrl, { headers: { authorization: `Bearer ${alice.token}`, accept: "text/html" } });
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await html.text()).toContain("<h1>DevHatchery runner agent</h1>");
    const asBob = await fetch(debugUrl, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(asBob.status).toBe(404);
    expect(await asBob.json()).toEqual({
      error: "not_found",
      message: `Runner "${runnerId}" not found for this principal; spawn one with runner_spawn.`,
    });
    expect((await fetch(debugUrl)).status).toBe(401);
  });

  it("never writes a bearer token or a runner token to the control plane's or the agent's log", async () => {
    const container = docker.getContainer(`devhatchery-${runnerId}`);
    const runnerToken = storedRunnerToken(server.stateDir, runnerId);
    expect(runnerToken.length).toBeGreaterThanOrEqual(32);
    // A failed login puts a wrong token on the wire; it must not reach the log either.
    const wrongToken = randomBytes(24).toString("hex");
    await fetch(server.url, {
      method: "POST",
      headers: { authorization: `Bearer ${wrongToken}`, "content-type": "application/json" },
      body: "{}",
    });
    const agentLog = (await container.logs({ stdout: true, stderr: true })).toString();
    for (const secret of [alice.token, bob.token, wrongToken, runnerToken]) {
      expect(server.logs()).not.toContain(secret);
      expect(agentLog).not.toContain(secret);
    }
    expect(server.logs()).toContain('"msg":"authentication failed"');
  });

  it("removes the runner", async () => {
    const { result, structured } = await callTool(asAlice, "runner_remove", { runner: runnerId });
    expect(result.isError).toBeFalsy();
    expect(structured).toEqual({ runner_id: runnerId, removed: true, workspace_key: runnerId, volume_removed: false });
    expect(await countRunners(alice.principal)).toBe(0);
    const again = await callTool(asAlice, "exec", { runner: runnerId, command: "true" });
    expect(again.result.isError).toBe(true);
  });

  it("cancelling an exec call stops the process", async () => {
    const { structured } = await callTool(asAlice, "runner_spawn", {});
    const runner = structured.runner_id as string;
    const controller = new AbortController();
    const call = asAlice.callTool(
      { name: "exec", arguments: { runner, command: "echo started; sleep 60" } },
      undefined,
      {
        signal: controller.signal,
        onprogress: () => controller.abort(),
      },
    );
    await expect(call).rejects.toThrow();
    await expect
      .poll(
        async () =>
          (await callTool(asAlice, "exec", { runner, command: "cat /proc/[0-9]*/comm | grep -c '^sleep$' || true" }))
            .structured.stdout,
        { timeout: 10_000 },
      )
      .toBe("0\n");
  });
});
