import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { storedRunnerToken } from "../support/runner-token.js";
import { callTool, textOf } from "../support/mcp-client.js";

type Samples = Map<string, number>;

/** Every sample of a Prometheus text exposition, keyed by `name{labels}` as written. */
async function scrape(base: string): Promise<Samples> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  const samples: Samples = new Map();
  for (const line of (await response.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const delta = (before: Samples, after: Samples, key: string): number => (after.get(key) ?? 0) - (before.get(key) ?? 0);

describe("operator signals: metrics, correlation ids, audit log, no secrets", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-obs-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-obs-${suffix}`;
  const secret = `hunter2-${randomBytes(6).toString("hex")}`;
  let dir: string;
  let server: ControlPlaneProcess;
  let base: string;
  let client: Client;
  let requestId: string | undefined;
  let runner: string;

  /** The next tool calls go out with this X-Request-Id. */
  const as = (id: string): string => (requestId = `${id}-${suffix}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-obs-"));
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_AUDIT_LOG: join(dir, "audit", "audit.jsonl"),
      DEVHATCHERY_EXPORT_ROOT: join(dir, "exports"),
    });
    base = server.url.replace(/\/mcp$/, "");
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: (url, init) => {
        const headers = new Headers(init?.headers);
        if (requestId) headers.set("x-request-id", requestId);
        return fetch(url, { ...init, headers });
      },
    });
    client = new Client({ name: "devhatchery-e2e-observability", version: "1.0.0" });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await removeTestRunners([principal], network);
    await rm(dir, { recursive: true, force: true });
  });

  it("moves each metric with the action behind it, and ties one request's log lines, agent lines and audit records together", async () => {
    const before = await scrape(base);

    as("obs-spawn");
    const spawned = await callTool(client, "runner_spawn", {});
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    runner = spawned.structured.runner_id as string;

    const execId = as("obs-exec");
    const exec = await callTool(client, "exec", {
      runner,
      command: 'echo started; sleep 0.2; printf %s "$SECRET" | wc -c',
      env: { SECRET: secret },
    });
    expect(exec.result.isError, textOf(exec.result)).toBeFalsy();
    expect(exec.structured).toMatchObject({ exit_code: 0 });
    expect(exec.structured.stdout).toBe(`started\n${secret.length}\n`);

    const writeId = as("obs-write");
    const content = `password=${secret}\n`;
    expect(
      (await callTool(client, "fs_write", { runner, path: "/work/out/secret.txt", content })).result.isError,
    ).toBeFalsy();
    as("obs-read");
    expect((await callTool(client, "fs_read", { runner, path: "/work/out/secret.txt" })).result.isError).toBeFalsy();
    as("obs-export");
    const exported = await callTool(client, "export_create", {
      runner,
      path: "/work/out",
      format: "tar.gz",
      name: "out",
    });
    expect(exported.result.isError, textOf(exported.result)).toBeFalsy();
    const removeId = as("obs-remove");
    expect((await callTool(client, "fs_remove", { runner, path: "/work/out/secret.txt" })).result.isError).toBeFalsy();

    requestId = undefined;
    const refused = await fetch(server.url, {
      method: "POST",
      headers: { authorization: "Bearer not-a-token-0123456789", "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.status).toBe(401);
    const anonymous = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": `obs-anon-${suffix}` },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("x-request-id")).toBe(`obs-anon-${suffix}`);

    const after = await scrape(base);
    expect(delta(before, after, 'devhatchery_runner_spawns_total{outcome="ok"}')).toBe(1);
    expect(delta(before, after, 'devhatchery_exec_total{outcome="success"}')).toBe(1);
    expect(delta(before, after, "devhatchery_exec_duration_seconds_count")).toBe(1);
    expect(delta(before, after, "devhatchery_exec_duration_seconds_sum")).toBeGreaterThanOrEqual(0.2);
    for (const op of ["write", "read", "remove"])
      expect(delta(before, after, `devhatchery_fs_operations_total{op="${op}"}`)).toBe(1);
    expect(delta(before, after, 'devhatchery_bytes_streamed_total{direction="to_runner"}')).toBe(
      Buffer.byteLength(content),
    );
    expect(delta(before, after, 'devhatchery_bytes_streamed_total{direction="from_runner"}')).toBeGreaterThan(
      Buffer.byteLength(content) * 2,
    );
    expect(delta(before, after, 'devhatchery_auth_failures_total{reason="invalid"}')).toBe(1);
    expect(delta(before, after, 'devhatchery_auth_failures_total{reason="missing"}')).toBe(1);
    expect(
      delta(before, after, 'devhatchery_http_request_duration_seconds_count{method="POST",route="/mcp",status="200"}'),
    ).toBeGreaterThanOrEqual(6);
    await expect
      .poll(async () => (await scrape(base)).get("devhatchery_runners_active"), { timeout: 15_000, interval: 1_000 })
      .toBeGreaterThanOrEqual(1);
    const exposition = await (await fetch(`${base}/metrics`)).text();
    for (const private_ of [principal, runner, "/work/out"]) expect(exposition).not.toContain(private_);

    // The control plane's lines for the exec call carry its request id, and so do the agent's (docker logs).
    const cpLines = server
      .logs()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(cpLines.filter((line) => line.requestId === execId).map((line) => line.msg)).toEqual(
      expect.arrayContaining(["exec returned", "tool call finished"]),
    );
    expect(cpLines.find((line) => line.requestId === execId && line.msg === "tool call finished")).toMatchObject({
      tool: "exec",
      principal,
    });
    const [container] = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.runner=${runner}`] },
    });
    const agentLog = (await docker.getContainer(container!.Id).logs({ stdout: true, stderr: true })).toString("utf8");
    const agentLines = agentLog
      .split("\n")
      .map((line) => line.slice(line.indexOf("{")))
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(agentLines.filter((line) => line.requestId === execId).map((line) => line.msg)).toEqual([
      "process started",
      "process ended",
    ]);
    expect(agentLines.filter((line) => line.requestId === writeId).map((line) => line.msg)).toEqual(["file written"]);
    expect(agentLines.filter((line) => line.requestId === removeId).map((line) => line.msg)).toEqual(["path removed"]);

    // The audit trail: one record per security-relevant action, with principal and correlation id.
    const audit = (await readFile(join(dir, "audit", "audit.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const find = (action: string) => audit.find((record) => record.action === action);
    expect(find("runner.spawn")).toMatchObject({
      outcome: "ok",
      principal,
      correlationId: `obs-spawn-${suffix}`,
      runner,
    });
    expect(find("exec.start")).toMatchObject({
      outcome: "ok",
      principal,
      correlationId: execId,
      runner,
      command_kind: "shell",
      program: "echo",
      command_length: 52,
      env_names: ["SECRET"],
    });
    expect(find("exec.end")).toMatchObject({
      outcome: "ok",
      principal,
      correlationId: execId,
      runner,
      reason: "exited",
      exit_code: 0,
    });
    expect(find("fs.write")).toMatchObject({
      outcome: "ok",
      principal,
      correlationId: writeId,
      runner,
      path: "/work/out/secret.txt",
      size: Buffer.byteLength(content),
    });
    expect(find("export.create")).toMatchObject({
      outcome: "ok",
      principal,
      correlationId: `obs-export-${suffix}`,
      runner,
      format: "tar.gz",
      source: "/work/out",
    });
    expect(find("fs.remove")).toMatchObject({
      outcome: "ok",
      principal,
      correlationId: removeId,
      path: "/work/out/secret.txt",
    });
    expect(audit.filter((record) => record.action === "auth.failure")).toEqual([
      expect.objectContaining({
        outcome: "denied",
        principal: "anonymous",
        reason: "invalid",
        remote: "127.0.0.1",
        path: "/mcp",
      }),
      expect.objectContaining({
        outcome: "denied",
        principal: "anonymous",
        reason: "missing",
        correlationId: `obs-anon-${suffix}`,
      }),
    ]);

    // Neither log holds the bearer token, the runner's token or the secret passed in env and in file content.
    const inspected = await docker.getContainer(container!.Id).inspect();
    const runnerToken = storedRunnerToken(server.stateDir, inspected.Config.Labels["io.devhatchery.runner"] ?? "");
    expect(runnerToken.length).toBeGreaterThanOrEqual(32);
    const auditText = JSON.stringify(audit);
    for (const [where, text] of [
      ["control plane log", server.logs()],
      ["audit log", auditText],
      ["agent log", agentLog],
    ] as const) {
      for (const [what, value] of [
        ["bearer token", token],
        ["runner token", runnerToken],
        ["secret", secret],
        ["refused token", "not-a-token-0123456789"],
      ] as const) {
        expect(text.includes(value), `${what} in the ${where}`).toBe(false);
      }
    }
  });
});
