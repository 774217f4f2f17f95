import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, connectClient } from "../support/mcp-client.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const LINES = 30;
const EXPECTED_OUTPUT = Array.from({ length: LINES }, (_, i) => `line-${i + 1}\n`).join("");

/** Collects the session's notifications/message. */
function logMessages(client: Client): LoggingMessageNotification["params"][] {
  const received: LoggingMessageNotification["params"][] = [];
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (notification) => void received.push(notification.params),
  );
  return received;
}

describe("streams: resumable SSE, session lifecycle and client logging", () => {
  const suffix = randomBytes(4).toString("hex");
  const user = { principal: `e2e-streams-${suffix}`, token: randomBytes(24).toString("hex") };
  const network = `devhatchery-e2e-${suffix}`;
  let server: ControlPlaneProcess;
  let proxy: TcpProxy;
  let runnerId: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${user.principal}:${user.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    proxy = await startTcpProxy(Number(new URL(server.url).port));
  });

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await proxy?.close();
    const code = await server?.stop();
    await removeTestRunners([user.principal], network);
    expect(code).toBe(0);
  });

  async function connect(url: string): Promise<Client> {
    const client = await connectClient(url, user.token);
    clients.push(client);
    return client;
  }

  it("announces runners becoming ready and removed, at the level each session asked for", async () => {
    const owner = await connect(server.url);
    const everything = await connect(server.url);
    const noticeOnly = await connect(server.url);
    const heardByEverything = logMessages(everything);
    const heardByNoticeOnly = logMessages(noticeOnly);
    await noticeOnly.setLoggingLevel("notice");

    const spawned = await callTool(owner, "runner_spawn", {});
    const removable = spawned.structured.runner_id as string;
    await expect.poll(() => heardByEverything.length, { timeout: 10_000 }).toBe(1);
    await callTool(owner, "runner_remove", { runner: removable });
    await expect.poll(() => heardByEverything.length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => heardByNoticeOnly.length, { timeout: 10_000 }).toBe(1);

    const ready = {
      level: "info",
      logger: "devhatchery",
      data: {
        message: `Runner ${removable} is ready (image devhatchery-test/runner:dev).`,
        runner_id: removable,
        status: "ready",
        image: "devhatchery-test/runner:dev",
      },
    };
    const removed = {
      level: "notice",
      logger: "devhatchery",
      data: { message: `Runner ${removable} was removed.`, runner_id: removable, status: "removed" },
    };
    expect(heardByEverything).toEqual([ready, removed]);
    expect(heardByNoticeOnly).toEqual([removed]);
  });

  it("a client whose connection drops mid-exec reconnects with Last-Event-ID and misses no progress notification", async () => {
    const setup = await connect(server.url);
    runnerId = (await callTool(setup, "runner_spawn", {})).structured.runner_id as string;

    const transport = new StreamableHTTPClientTransport(new URL(proxy.url("/mcp")), {
      requestInit: { headers: { Authorization: `Bearer ${user.token}` } },
      reconnectionOptions: {
        initialReconnectionDelay: 200,
        maxReconnectionDelay: 2000,
        reconnectionDelayGrowFactor: 1.5,
        maxRetries: 30,
      },
    });
    const client = new Client({ name: "devhatchery-e2e-resume", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);

    const progress: Progress[] = [];
    let heldDuringCut = -1;
    const cutAfter = 5;
    const call = client.callTool(
      {
        name: "exec",
        arguments: { runner: runnerId, command: `for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.1; done` },
      },
      undefined,
      {
        timeout: 60_000,
        onprogress: (update) => {
          progress.push(update);
          if (progress.length === cutAfter) {
            proxy.cut();
            // Output keeps coming while the client cannot connect: the server keeps it for the resume.
            setTimeout(() => {
              heldDuringCut = progress.length;
              proxy.restore();
            }, 1500);
          }
        },
      },
    );
    const acceptedBefore = proxy.accepted;
    const result = (await call) as CallToolResult;

    expect(heldDuringCut).toBe(cutAfter);
    expect(proxy.accepted).toBeGreaterThan(acceptedBefore);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ state: "exited", exit_code: 0, stdout: EXPECTED_OUTPUT });
    expect(progress.map((update) => update.message).join("")).toBe(EXPECTED_OUTPUT);
    const values = progress.map((update) => update.progress);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it("DELETE ends a session: its id then answers 404", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${user.token}` } },
    });
    const client = new Client({ name: "devhatchery-e2e-delete", version: "1.0.0" });
    await client.connect(transport);
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const after = await fetch(server.url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${user.token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(after.status).toBe(404);
    expect(await after.json()).toMatchObject({
      error: { code: -32001, message: "Session not found: it expired or was closed; initialize a new session." },
    });
    await client.close();
  });

  it("closes idle sessions after DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS", async () => {
    const short = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${user.principal}:${user.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS: "1000",
    });
    try {
      const init = {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "idle", version: "1" } },
      };
      const headers = {
        authorization: `Bearer ${user.token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      };
      const opened = await fetch(short.url, { method: "POST", headers, body: JSON.stringify(init) });
      const sessionId = opened.headers.get("mcp-session-id")!;
      await opened.text();
      await expect
        .poll(() => /"msg":"mcp session expired"/.test(short.logs()), { timeout: 10_000, interval: 100 })
        .toBe(true);
      expect(short.logs()).toContain(`"session":"${sessionId}"`);
      const after = await fetch(short.url, {
        method: "POST",
        headers: { ...headers, "mcp-session-id": sessionId },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
      });
      expect(after.status).toBe(404);
    } finally {
      expect(await short.stop()).toBe(0);
    }
  });
});
