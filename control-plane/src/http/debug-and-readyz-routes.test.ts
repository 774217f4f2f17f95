import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { policyConfig } from "../../test/policy-config.js";
import { createAuthenticator } from "../auth/create-authenticator.js";
import type { Principal } from "../auth/principal.js";
import { ControlPlaneError } from "../errors.js";
import { createLogger } from "../log.js";
import { createAuditLog } from "../observability/audit-log.js";
import { PrometheusMetrics } from "../observability/prometheus-metrics.js";
import { createReadiness, type ReadinessCheck } from "../observability/readiness.js";
import { createApp, type DebugViewer } from "./app.js";
import { McpSessions } from "./mcp-sessions.js";

const TOKEN = "debug-route-token-0123456789";
const LISTER_TOKEN = "debug-route-lister-0123456789";
const SCRIPT = "<script>alert(1)</script>";

/** What a rewritten agent may answer: markup in every value and key, and shapes the real agent never sends. */
const HOSTILE_SNAPSHOT = {
  version: `0.1.0"><img src=x onerror=alert(1)>`,
  node: "v24",
  pid: 7,
  memory: { rss_bytes: "<style>body{display:none}</style>" },
  streams: { open: 1, total: 2, openByMethod: { [`Exec/${SCRIPT}`]: 1 } },
  processes: [{ id: "x-1", command: `sleep 30 # ${SCRIPT}`, [`<b onclick=alert(1)>key</b>`]: "v" }, "not a row", 42],
  watches: `${SCRIPT}`,
};

const log = createLogger("silent");
const sessions = new McpSessions(() => {
  throw new Error("no MCP sessions in this test");
}, log);
let answer: (principal: Principal, runner: string) => Promise<unknown> = () => Promise.resolve(HOSTILE_SNAPSHOT);
const debugView: DebugViewer = (principal, runner) => answer(principal, runner);
let readinessChecks: ReadinessCheck[] = [];
const app = createApp({
  sessions,
  debugView,
  authenticate: createAuthenticator({
    auth: {
      mode: "bearer",
      tokens: [
        { principal: "alice", tokenSha256: createHash("sha256").update(TOKEN).digest("hex") },
        { principal: "lister", tokenSha256: createHash("sha256").update(LISTER_TOKEN).digest("hex") },
      ],
      oidc: undefined,
    },
    policies: [policyConfig("listers", { principals: ["lister"], tools: ["runner_list"] })],
    defaultPolicy: "unrestricted",
  }).authenticate,
  hostGuard: { listenHost: "127.0.0.1", allowedHosts: [], allowedOrigins: [] },
  version: "test",
  log,
  audit: createAuditLog(undefined),
  metrics: new PrometheusMetrics(() => Promise.resolve(0)),
  readiness: () => createReadiness(readinessChecks, { log })(),
});

const get = (accept: string): Promise<Response> =>
  Promise.resolve(
    app.request("http://127.0.0.1:8080/runners/r-0123456789ab/debug", {
      headers: { authorization: `Bearer ${TOKEN}`, accept },
    }),
  );

function expectLockedDown(response: Response): void {
  expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  expect(response.headers.get("cache-control")).toBe("no-store");
}

afterAll(async () => {
  await sessions.shutdown(0);
});

describe("GET /runners/:runner/debug", () => {
  it("renders the agent's JSON as a page of its own, every value and key escaped, under a CSP that allows nothing", async () => {
    answer = () => Promise.resolve(HOSTILE_SNAPSHOT);
    const response = await get("text/html,application/xhtml+xml");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expectLockedDown(response);
    const html = await response.text();
    expect(html).toContain("<h1>DevHatchery runner agent</h1>");
    expect(html).toContain("<td>sleep 30 # &#60;script&#62;alert(1)&#60;/script&#62;</td>");
    expect(html).toContain("&#60;b onclick=alert(1)&#62;key&#60;/b&#62;");
    expect(html).toContain("0.1.0&#34;&#62;&#60;img src=x onerror=alert(1)&#62;");
    // The only tags are the page's own.
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z!][a-zA-Z0-9]*)/g)].map((match) => match[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual([
      "!doctype",
      "body",
      "code",
      "h1",
      "h2",
      "head",
      "html",
      "meta",
      "p",
      "table",
      "tbody",
      "td",
      "th",
      "thead",
      "title",
      "tr",
    ]);
    expect(html).not.toMatch(/<[^>]*\s(?:on[a-z]+|style)=/i);
  });

  it("refuses a principal whose policy does not grant exec_list (the view shows processes)", async () => {
    const response = await app.request("http://127.0.0.1:8080/runners/r-0123456789ab/debug", {
      headers: { authorization: `Bearer ${LISTER_TOKEN}` },
    });
    expect(response.status).toBe(403);
    expectLockedDown(response);
    expect(await response.json()).toEqual({
      error: "policy_denied",
      message:
        'policy "listers" (rule tools) does not allow the debug view (it takes exec_list); ask the operator if you need it.',
    });
  });

  it("answers JSON with the same headers", async () => {
    answer = () => Promise.resolve(HOSTILE_SNAPSHOT);
    const response = await get("application/json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expectLockedDown(response);
    expect(await response.json()).toEqual(HOSTILE_SNAPSHOT);
  });

  it("renders snapshots that are not objects without failing", async () => {
    for (const snapshot of [SCRIPT, [SCRIPT], null, 42]) {
      answer = () => Promise.resolve(snapshot);
      const response = await get("text/html");
      expect(response.status).toBe(200);
      expect(await response.text()).not.toContain("<script");
    }
  });

  it("answers an agent's oversized or unusable answer as a bad gateway, and a foreign runner as not found", async () => {
    const cases: [ControlPlaneError, number][] = [
      [
        new ControlPlaneError(
          "RESOURCE_EXHAUSTED",
          'Runner "r-1" answered its debug view with more than 1048576 bytes',
        ),
        502,
      ],
      [
        new ControlPlaneError(
          "FAILED_PRECONDITION",
          'Runner "r-1" answered its debug view with something that is not JSON',
        ),
        502,
      ],
      [new ControlPlaneError("NOT_FOUND", 'Runner "r-1" not found for this principal'), 404],
      [new ControlPlaneError("RUNNER_UNAVAILABLE", 'Runner "r-1" did not answer on its debug port'), 503],
    ];
    for (const [error, status] of cases) {
      answer = () => Promise.reject(error);
      const response = await get("text/html");
      expect(response.status).toBe(status);
      expectLockedDown(response);
      expect(await response.json()).toEqual({ error: error.code.toLowerCase(), message: error.message });
    }
  });
});

describe("GET /readyz", () => {
  it("says only ready or not and which check failed: no errors, hints, addresses or paths", async () => {
    readinessChecks = [
      {
        name: "docker",
        check: () =>
          Promise.reject(
            new Error('Docker at "tcp://10.0.0.5:2375" does not answer: connect ECONNREFUSED 10.0.0.5:2375'),
          ),
        hint: "Fix DEVHATCHERY_DOCKER_HOST",
      },
      {
        name: "agent",
        check: () => Promise.reject(new Error('Image "registry.internal:5000/runner" could not be pulled')),
        hint: "Make the default image available",
      },
      { name: "store", check: () => Promise.resolve(), hint: "Check /var/lib/devhatchery" },
    ];
    const response = await app.request("http://127.0.0.1:8080/readyz");
    expect(response.status).toBe(503);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      status: "not_ready",
      checks: [
        { name: "docker", ok: false },
        { name: "agent", ok: false },
        { name: "store", ok: true },
      ],
    });
  });

  it("answers 200 when every check passes", async () => {
    readinessChecks = [{ name: "docker", check: () => Promise.resolve(), hint: "" }];
    const response = await app.request("http://127.0.0.1:8080/readyz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: [{ name: "docker", ok: true }] });
  });
});
