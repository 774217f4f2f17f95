import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, connectClient, textOf } from "../support/mcp-client.js";
import { openMcpPost, openRawMcpSession, readSseMessages } from "../support/raw-mcp.js";
import { ok, startRunnersControlPlane, testIdentities, type RunnersControlPlane } from "../support/runners-fixture.js";

/**
 * Per-session bounds and what a closed session leaves behind: resource subscriptions and fs_watch watches are
 * limited per session, and every agent watch a session's subscriptions hold is closed when the session ends.
 */
describe("session limits and the watches a closed session leaves", () => {
  const { principals, network, env } = testIdentities("session-limits", ["alice"]);
  const { token } = principals[0]!;
  let plane: RunnersControlPlane;
  let server: ControlPlaneProcess;
  let client: Client;
  let runner: string;

  /** The agent's open watches in the runner, from its debug view. */
  async function agentWatches(): Promise<unknown[]> {
    const response = await fetch(server.url.replace(/\/mcp$/, `/runners/${runner}/debug`), {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { watches: unknown[] }).watches;
  }

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, {
      ...env,
      DEVHATCHERY_MAX_SUBSCRIPTIONS: "2",
      DEVHATCHERY_MAX_WATCHES: "2",
      DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS: "1000",
    });
    server = plane.server;
    client = plane.clients[0]!;
    runner = (await ok(client, "runner_spawn")).runner_id as string;
  });

  afterAll(async () => {
    await plane?.close();
  });

  /** POSTs a `bytes`-long initialize over plain HTTP (chunked unless `declare`), and resolves with the answer it reads. */
  function postHuge(bytes: number, declare: boolean): Promise<{ status: number; body: string }> {
    const head =
      '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"';
    const tail = '","version":"1"}}}';
    return new Promise((resolve, reject) => {
      const call = openMcpPost(server.url, token, declare ? { "content-length": bytes } : {});
      call.once("response", (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += String(chunk)));
        response.once("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      // The server answers before the body ends and then closes (Connection: close), so writing fails with EPIPE:
      // the answer is what counts; an error without one within 2 s fails the test.
      call.once("error", (error) => void setTimeout(() => reject(error), 2_000).unref());
      const chunk = "x".repeat(1024 * 1024);
      let left = bytes - head.length - tail.length;
      call.write(head);
      const pump = (): void => {
        while (left > 0) {
          const piece = chunk.slice(0, Math.min(chunk.length, left));
          left -= piece.length;
          if (!call.write(piece)) return void call.once("drain", pump);
        }
        call.end(tail);
      };
      pump();
    });
  }

  it("answers a 50 MB initialize with 413 over real HTTP, declared or chunked", async () => {
    for (const declare of [true, false]) {
      const answer = await postHuge(50 * 1024 * 1024, declare);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32600,
          message: expect.stringContaining("the limit is 25165824 bytes (sessions.max_body_bytes)"),
        },
      });
    }
  });

  it("closes every watch of a session's file subscriptions when the client ends the session (DELETE)", async () => {
    const subscriber = await connectClient(server.url, token);
    await subscriber.subscribeResource({ uri: `devhatchery://runners/${runner}/files/work` });
    await subscriber.subscribeResource({ uri: `devhatchery://runners/${runner}/files/work/not-yet.txt` });
    expect(await agentWatches()).toHaveLength(2);
    await (subscriber.transport as StreamableHTTPClientTransport).terminateSession();
    await subscriber.close();
    await expect.poll(async () => (await agentWatches()).length, { timeout: 10_000, interval: 100 }).toBe(0);
  });

  it("closes them when a session whose client went away expires", async () => {
    const raw = await openRawMcpSession(server.url, token);
    const subscribed = await raw.post({
      jsonrpc: "2.0",
      id: 1,
      method: "resources/subscribe",
      params: { uri: `devhatchery://runners/${runner}/files/work` },
    });
    expect(await readSseMessages(subscribed)).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }]);
    expect(await agentWatches()).toHaveLength(1);
    // No request and no open stream: the session expires after its idle timeout (1 s here) and its watch closes.
    await expect.poll(async () => (await agentWatches()).length, { timeout: 15_000, interval: 200 }).toBe(0);
  });

  it("closes them when the client drops its connections without ending the session", async () => {
    const subscriber = await connectClient(server.url, token);
    await subscriber.subscribeResource({ uri: `devhatchery://runners/${runner}/files/work` });
    expect(await agentWatches()).toHaveLength(1);
    await subscriber.close(); // its GET stream is cut, no DELETE: the session goes idle and expires
    await expect.poll(async () => (await agentWatches()).length, { timeout: 15_000, interval: 200 }).toBe(0);
  });

  it("refuses a subscription past sessions.max_subscriptions, naming the limit", async () => {
    const subscriber = await connectClient(server.url, token);
    try {
      await subscriber.subscribeResource({ uri: `devhatchery://runners/${runner}/files/work/a` });
      await subscriber.subscribeResource({ uri: `devhatchery://runners/${runner}/files/work/b` });
      const uri = `devhatchery://runners/${runner}/files/work/c`;
      await expect(subscriber.subscribeResource({ uri })).rejects.toThrow(
        `RESOURCE_EXHAUSTED: Cannot subscribe to "${uri}": this session follows 2 resources and the limit is 2 (sessions.max_subscriptions); ` +
          "unsubscribe from resources you no longer need (resources/unsubscribe), or ask the operator to raise sessions.max_subscriptions (DEVHATCHERY_MAX_SUBSCRIPTIONS).",
      );
      await subscriber.unsubscribeResource({ uri: `devhatchery://runners/${runner}/files/work/a` });
      await subscriber.subscribeResource({ uri });
    } finally {
      await (subscriber.transport as StreamableHTTPClientTransport).terminateSession();
      await subscriber.close();
    }
  });

  it("refuses an fs_watch past sessions.max_watches, naming the limit, until fs_unwatch closes one", async () => {
    const watcher = await connectClient(server.url, token);
    try {
      const watchIds: string[] = [];
      for (const path of ["/work", "/tmp"]) {
        const started = await callTool(watcher, "fs_watch", { runner, path });
        expect(started.result.isError, textOf(started.result)).toBeFalsy();
        watchIds.push(started.structured.watch_id as string);
      }
      const refused = await callTool(watcher, "fs_watch", { runner, path: "/var" });
      expect(refused.result.isError).toBe(true);
      expect(textOf(refused.result)).toContain(
        "Cannot start another watch: this session has 2 open watches and the limit is 2 (sessions.max_watches); a watch closes after 10 minutes without fs_changes calls.",
      );
      // Another session has its own count.
      const other = await callTool(client, "fs_watch", { runner, path: "/var" });
      expect(other.result.isError, textOf(other.result)).toBeFalsy();
      const unknown = await callTool(watcher, "fs_unwatch", { runner, watch_id: "w-unknown" });
      expect(textOf(unknown.result)).toMatch(/^Error NOT_FOUND/);
      // fs_unwatch frees a place: the agent's watch is gone, and the next fs_watch is accepted.
      const closed = await callTool(watcher, "fs_unwatch", { runner, watch_id: watchIds[0] });
      expect(closed.structured).toMatchObject({ watch_id: watchIds[0], path: "/work", closed: true });
      const gone = await callTool(watcher, "fs_changes", { runner, watch_id: watchIds[0], cursor: 0 });
      expect(textOf(gone.result)).toMatch(/NOT_FOUND/);
      const again = await callTool(watcher, "fs_watch", { runner, path: "/var" });
      expect(again.result.isError, textOf(again.result)).toBeFalsy();
    } finally {
      await watcher.close();
    }
  });
});
