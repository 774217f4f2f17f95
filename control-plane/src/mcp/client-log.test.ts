import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { createClientLog } from "./client-log.js";

let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
});

describe("createClientLog", () => {
  it("sends notifications/message at or above the level the client set, and nothing once the session is gone", async () => {
    const server = new McpServer({ name: "t", version: "1" }, { capabilities: { logging: {} } });
    const log = createClientLog(server);
    const client = new Client({ name: "t", version: "1" });
    const received: LoggingMessageNotification["params"][] = [];
    client.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (notification) => void received.push(notification.params),
    );
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    await client.connect(clientSide);
    close = () => client.close();

    log("debug", "before any level is set", { runner_id: "r-000000000001" });
    await expect.poll(() => received.length).toBe(1);
    await client.setLoggingLevel("warning");
    log("info", "filtered out");
    log("error", "kept", { runner_id: "r-000000000002" });
    await client.ping(); // a round trip: anything sent before it has arrived
    expect(received).toEqual([
      {
        level: "debug",
        logger: "devhatchery",
        data: { message: "before any level is set", runner_id: "r-000000000001" },
      },
      { level: "error", logger: "devhatchery", data: { message: "kept", runner_id: "r-000000000002" } },
    ]);
    await client.close();
    expect(() => log("error", "after close")).not.toThrow();
  });
});
