import { randomBytes } from "node:crypto";
import type { Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { freePort } from "../../control-plane/test/free-port.js";
import { startControlPlane } from "../support/control-plane-process.js";
import { callTool, connectClient, textOf } from "../support/mcp-client.js";

async function runnerState(runnerId: string): Promise<string | undefined> {
  const [container] = await docker.listContainers({
    all: true,
    filters: { label: [`io.devhatchery.runner=${runnerId}`] },
  });
  return container?.State;
}

describe("readiness and graceful shutdown of the real control plane", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function names(label: string) {
    const suffix = randomBytes(4).toString("hex");
    return {
      principal: `e2e-${label}-${suffix}`,
      token: randomBytes(24).toString("hex"),
      network: `devhatchery-e2e-${label}-${suffix}`,
    };
  }

  async function start(label: string, env: Record<string, string> = {}) {
    const { principal, token, network } = names(label);
    const server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      ...env,
    });
    cleanups.push(async () => {
      await server.stop();
      await removeTestRunners([principal], network);
    });
    return { server, token, base: server.url.replace(/\/mcp$/, "") };
  }

  /** /readyz once start-up work had its chance: the default image is prepared in the background, not by the probe. */
  async function readyzAfterStartup(base: string): Promise<Response> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const response = await fetch(`${base}/readyz`);
      if (response.status === 200 || attempt === 99) return response;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("unreachable");
  }

  it("/readyz is 200 with every check passing when Docker, the store and the default image's agent are ready", async () => {
    const { base } = await start("ready");
    const response = await readyzAfterStartup(base);
    expect(await response.json()).toEqual({
      status: "ready",
      checks: [
        { name: "docker", ok: true },
        { name: "agent", ok: true },
        { name: "store", ok: true },
      ],
    });
    expect(response.status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("/readyz is 503 naming only the failing checks when Docker is unreachable, the error and fix in the log; /healthz stays 200", async () => {
    const port = await freePort();
    const { base, server } = await start("unready", { DEVHATCHERY_DOCKER_HOST: `tcp://127.0.0.1:${port}` });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: "not_ready",
      checks: [
        { name: "docker", ok: false },
        { name: "agent", ok: false },
        { name: "store", ok: true },
      ],
    });
    // The log line is written before the answer, but reaches this process through a pipe: wait for it (bounded).
    for (let attempt = 0; attempt < 50 && !server.logs().includes('"check":"docker"'); attempt++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const logged = server
      .logs()
      .split("\n")
      .filter((line) => line.includes('"readiness check failed"'))
      .map((line) => JSON.parse(line) as { check: string; error: string; hint: string });
    expect(logged.find((line) => line.check === "docker")).toMatchObject({
      error: expect.stringMatching(
        new RegExp(`^Docker at "tcp://127\\.0\\.0\\.1:${port}" does not answer: .*ECONNREFUSED`),
      ),
      hint: "Start Docker or fix DEVHATCHERY_DOCKER_HOST (dockerHost) so the control plane can reach the engine.",
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("on SIGTERM lets a streaming exec finish, answers new requests 503, exits 0 and leaves the runner running", async () => {
    const { server, token } = await start("drain", { DEVHATCHERY_SHUTDOWN_GRACE_MS: "30000" });
    const client = await connectClient(server.url, token);
    cleanups.push(() => client.close());
    const spawned = await callTool(client, "runner_spawn", {});
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    const runner = spawned.structured.runner_id as string;

    const progress: Progress[] = [];
    let sawOutput!: () => void;
    const outputSeen = new Promise<void>((resolve) => (sawOutput = resolve));
    const exec = client.callTool(
      { name: "exec", arguments: { runner, command: "for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.25; done" } },
      undefined,
      {
        timeout: 60_000,
        onprogress: (update) => {
          progress.push(update);
          sawOutput();
        },
      },
    );
    await outputSeen;
    const exited = server.stop();
    await expect
      .poll(
        async () =>
          (
            await fetch(server.url, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: "{}",
            })
          ).status,
        {
          timeout: 5_000,
          interval: 50,
        },
      )
      .toBe(503);
    const refused = await fetch(server.url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.json()).toEqual({
      jsonrpc: "2.0",
      error: {
        code: -32000,
        message: "Service unavailable: this control plane is shutting down; retry in 5 s (after it restarts).",
      },
      id: null,
    });

    const result = (await exec) as { structuredContent?: Record<string, unknown> };
    expect(result.structuredContent).toMatchObject({
      exit_code: 0,
      stdout: "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\ntick 7\ntick 8\n",
    });
    expect(progress.length).toBeGreaterThan(1);
    expect(await exited).toBe(0);
    expect(server.logs()).toContain(
      '"msg":"draining: new MCP requests get 503; requests in flight may finish; runners keep running"',
    );
    expect(await runnerState(runner)).toBe("running");
  });

  it("cuts a call still running when the grace period ends, and still exits 0 with the runner running", async () => {
    const { server, token } = await start("cut", { DEVHATCHERY_SHUTDOWN_GRACE_MS: "500" });
    const client = await connectClient(server.url, token);
    cleanups.push(() => client.close());
    const spawned = await callTool(client, "runner_spawn", {});
    const runner = spawned.structured.runner_id as string;
    let sawOutput!: () => void;
    const outputSeen = new Promise<void>((resolve) => (sawOutput = resolve));
    const exec = client
      .callTool({ name: "exec", arguments: { runner, command: "echo waiting; sleep 60" } }, undefined, {
        timeout: 60_000,
        onprogress: () => sawOutput(),
      })
      .then(
        () => "answered",
        () => "failed",
      );
    await outputSeen;
    expect(await server.stop()).toBe(0);
    expect(server.logs()).toMatch(
      /"cut":1,"graceMs":500,"msg":"cut MCP requests still in flight after the grace period"/,
    );
    expect(await runnerState(runner)).toBe("running");
    await client.close();
    expect(await exec).toBe("failed");
  });
});
