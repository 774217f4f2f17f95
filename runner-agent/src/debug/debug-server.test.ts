import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentHarness, TEST_TOKEN, type AgentHarness } from "../../test/agent-harness.js";
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
