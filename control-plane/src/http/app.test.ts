import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createControlPlane } from "../control-plane.js";
import { createLogger } from "../log.js";

const ALICE = "alice-token-0123456789";
const BOB = "bob-token-0123456789";
// A unit test: its own state folder, and an engine address where nothing listens (reconcile and readiness fail fast).
const stateDir = mkdtempSync(join(tmpdir(), "devhatchery-app-test-"));
const noEngine = `unix://${join(stateDir, "no-engine.sock")}`;
const controlPlane = createControlPlane(
  loadConfig({
    HOME: stateDir,
    DEVHATCHERY_STATE_DIR: stateDir,
    DEVHATCHERY_DOCKER_HOST: noEngine,
    DEVHATCHERY_BEARER_TOKENS: `alice:${ALICE},bob:${BOB}`,
  }),
  createLogger("silent"),
);
const { app } = controlPlane;

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "app-test", version: "1.0.0" } },
};

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(
    app.request("http://127.0.0.1:8080/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

afterAll(async () => {
  await controlPlane.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("HTTP surface", () => {
  it("keeps its state in the test's own folder and reaches no Docker engine", async () => {
    expect(existsSync(join(stateDir, "state.db"))).toBe(true);
    const response = await app.request("http://127.0.0.1:8080/readyz");
    expect(response.status).toBe(503);
    const { checks } = (await response.json()) as { checks: { name: string; ok: boolean }[] };
    expect(checks.find((check) => check.name === "docker")?.ok).toBe(false);
  });

  it("answers /healthz without auth", async () => {
    const response = await app.request("http://127.0.0.1:8080/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers 401 with a challenge that says what was wrong when the token is missing, wrong or not a bearer token", async () => {
    const attempts: Array<[Record<string, string>, string, string]> = [
      [{}, 'Bearer realm="devhatchery"', "send `Authorization: Bearer <token>` with a token this server accepts"],
      [
        { authorization: "Bearer wrong-token-0123456789" },
        'Bearer realm="devhatchery", error="invalid_token"',
        "the token is not valid on this server",
      ],
      [
        { authorization: `Basic ${ALICE}` },
        'Bearer realm="devhatchery", error="invalid_request"',
        "the Authorization header must be `Bearer <token>` (one token)",
      ],
    ];
    for (const [headers, challenge, message] of attempts) {
      const response = await post(initialize, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe(challenge);
      expect(await response.json()).toEqual({
        jsonrpc: "2.0",
        error: { code: -32001, message: `Unauthorized: ${message}.` },
        id: null,
      });
    }
  });

  it("refuses a foreign Host or Origin before looking at credentials (DNS rebinding)", async () => {
    const badHost = await app.request("http://evil.example:8080/mcp", {
      method: "POST",
      headers: { authorization: `Bearer ${ALICE}` },
    });
    expect(badHost.status).toBe(403);
    expect(await badHost.json()).toEqual({
      error: "forbidden_host",
      message:
        'Host "evil.example:8080" is not allowed; add "evil.example" (the name without the port) to auth.allowed_hosts or DEVHATCHERY_ALLOWED_HOSTS.',
    });
    const badOrigin = await post(initialize, { authorization: `Bearer ${ALICE}`, origin: "http://evil.example" });
    expect(badOrigin.status).toBe(403);
    expect(await badOrigin.json()).toMatchObject({ error: "forbidden_origin" });
    const goodOrigin = await post(initialize, { authorization: `Bearer ${ALICE}`, origin: "http://localhost:6274" });
    expect(goodOrigin.status).toBe(200);
  });

  it("rejects malformed JSON and requests without a session", async () => {
    const malformed = await post("{not json", { authorization: `Bearer ${ALICE}` });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
    const noSession = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, { authorization: `Bearer ${ALICE}` });
    expect(noSession.status).toBe(400);
    expect(await noSession.json()).toMatchObject({
      error: { message: "Bad Request: no Mcp-Session-Id header; start with an initialize request." },
    });
  });

  it("keeps a session to the principal that opened it", async () => {
    const opened = await post(initialize, { authorization: `Bearer ${ALICE}` });
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get("mcp-session-id");
    expect(sessionId).toBeTruthy();
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const headers = { "mcp-session-id": sessionId!, "mcp-protocol-version": "2025-11-25" };
    const asBob = await post(list, { ...headers, authorization: `Bearer ${BOB}` });
    expect(asBob.status).toBe(404);
    expect(await asBob.json()).toMatchObject({
      error: { message: "Session not found: it expired or was closed; initialize a new session." },
    });
    const asAlice = await post(list, { ...headers, authorization: `Bearer ${ALICE}` });
    expect(asAlice.status).toBe(200);
    expect(await asAlice.text()).toContain('"runner_spawn"');
  });

  it("echoes a safe X-Request-Id and replaces an unsafe one", async () => {
    const safe = await app.request("http://127.0.0.1:8080/healthz", {
      headers: { "x-request-id": "client-req_42:a.b" },
    });
    expect(safe.headers.get("x-request-id")).toBe("client-req_42:a.b");
    for (const unsafe of ["has space", "x".repeat(65), "-leading-dash", 'quote"d']) {
      const response = await app.request("http://127.0.0.1:8080/healthz", { headers: { "x-request-id": unsafe } });
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("serves Prometheus metrics without auth: auth failures and HTTP latency by route pattern, no principals", async () => {
    await post(initialize, { authorization: "Bearer nobody-0123456789" });
    await app.request("http://127.0.0.1:8080/runners/r-abc/debug");
    await app.request("http://127.0.0.1:8080/nope");
    const response = await app.request("http://127.0.0.1:8080/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    expect(text).toMatch(/^devhatchery_auth_failures_total\{reason="invalid"\} [1-9]\d*$/m);
    expect(text).toMatch(/^devhatchery_auth_failures_total\{reason="missing"\} [1-9]\d*$/m);
    expect(text).toMatch(
      /^devhatchery_http_request_duration_seconds_count\{method="POST",route="\/mcp",status="401"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^devhatchery_http_request_duration_seconds_count\{method="GET",route="\/runners\/:runner\/debug",status="401"\} 1$/m,
    );
    expect(text).toMatch(
      /^devhatchery_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]\d*$/m,
    );
    expect(text).not.toContain("r-abc");
    expect(text).not.toContain("alice");
    const foreign = await app.request("http://evil.example:8080/metrics");
    expect(foreign.status).toBe(403);
  });

  it("answers unknown routes with a pointer to /mcp", async () => {
    const response = await app.request("http://127.0.0.1:8080/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: "not_found",
      message: "No route for GET /nope; MCP is served at /mcp.",
    });
  });
});
