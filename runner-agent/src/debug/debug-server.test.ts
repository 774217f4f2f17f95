import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authMetadata,
  followExec,
  startAgentHarness,
  startProcess,
  startWatch,
  TEST_TOKEN,
  type AgentHarness,
} from "../../test/agent-harness.js";
import { AGENT_VERSION } from "../version.js";

describe("the agent's debug endpoint", () => {
  let agent: AgentHarness;
  let base: string;
  beforeAll(async () => {
    agent = await startAgentHarness();
    base = `http://127.0.0.1:${agent.server.debugPort}`;
  });
  afterAll(async () => {
    await agent.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
    fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers } });

  it("refuses requests without the runner token", async () => {
    for (const authorization of ["", "Bearer wrong", TEST_TOKEN]) {
      const response = await fetch(`${base}/debug.json`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="devhatchery-agent"');
    }
  });

  it("reports version, uptime, memory, cpu and open streams as JSON", async () => {
    const response = await get("/debug.json");
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ version: AGENT_VERSION, node: process.version, pid: process.pid });
    expect(body.memory).toMatchObject({ rss_bytes: expect.any(Number), heap_used_bytes: expect.any(Number) });
    expect(body.cpu).toMatchObject({ user_ms: expect.any(Number), system_ms: expect.any(Number) });
    expect(body.streams).toMatchObject({ open: expect.any(Number), total: expect.any(Number) });
    expect(Array.isArray(body.processes)).toBe(true);
    expect(Array.isArray(body.watches)).toBe(true);
  });

  it("lists processes, watches and open streams", async () => {
    const process = await startProcess(agent.exec, { shell: "echo hello; sleep 30" });
    const watch = await startWatch(agent.watch, { path: agent.workDir });
    const follower = followExec(
      agent.exec.attach({ execId: process.execId, cursor: 0, keepaliveMs: 0 }, authMetadata()),
    );
    await follower.next((event) => event.$case === "output");
    try {
      const body = (await (await get("/debug.json")).json()) as {
        processes: Record<string, unknown>[];
        watches: Record<string, unknown>[];
        streams: { openByMethod: Record<string, number> };
      };
      expect(body.processes).toContainEqual(
        expect.objectContaining({
          id: process.execId,
          state: "running",
          command: "echo hello; sleep 30",
          output_bytes: 6,
          readers: 1,
        }),
      );
      expect(body.watches).toContainEqual(
        expect.objectContaining({ id: watch.watchId, path: agent.workDir, recursive: true, readers: 0 }),
      );
      expect(body.streams.openByMethod["/devhatchery.agent.v1.ExecService/Attach"]).toBe(1);
    } finally {
      follower.cancel();
    }
  });

  it("serves a small HTML page to browsers", async () => {
    const response = await get("/debug", { accept: "text/html" });
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await response.text();
    expect(html).toContain("<h1>DevHatchery runner agent</h1>");
    expect(html).toContain(AGENT_VERSION);
    expect(html).not.toContain("<script");
  });

  it("is read-only and has only its two routes", async () => {
    expect((await get("/debug.json", {}, "POST")).status).toBe(405);
    expect((await get("/other")).status).toBe(404);
  });
});
