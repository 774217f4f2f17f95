import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createRunnerServiceFixture,
  eventually,
  RUNNER_IMAGE,
  type RunnerServiceFixture,
} from "../../test/runner-service-fixture.js";
import type { Principal } from "../runners/runner.js";
import { createClientLog } from "./client-log.js";
import { announceRunnerChanges, REMEMBERED_REMOVALS, type RunnerAnnouncements } from "./runner-announcements.js";

interface Told {
  runner_id: string;
  status: string;
}

/** One MCP session of `principal` announcing runner changes: a real McpServer and a Client over InMemoryTransport. */
async function openSession(
  fx: RunnerServiceFixture,
  principal: Principal,
): Promise<{ told: Told[]; announcements: RunnerAnnouncements; close(): Promise<void> }> {
  const server = new McpServer({ name: "announcements-test", version: "1.0.0" }, { capabilities: { logging: {} } });
  const announcements = announceRunnerChanges(
    server,
    { runners: fx.runners, principal, log: fx.log },
    createClientLog(server),
  );
  const client = new Client({ name: "announcements-test-client", version: "1.0.0" });
  const told: Told[] = [];
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (notification) => void told.push(notification.params.data as Told),
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  return { told, announcements, close: async () => void (await Promise.all([client.close(), server.close()])) };
}

/** A failed spawn in the store (no container): removing it is a runner removal without Docker work. */
function recordFailedSpawn(fx: RunnerServiceFixture, principal: Principal): string {
  const runnerId = `r-${randomBytes(6).toString("hex")}`;
  const createdAt = new Date().toISOString();
  const expiresAt = new Date(Date.now() + 60 * 60 * 1000).toISOString();
  fx.store.recordSpawn({
    runnerId,
    principal: principal.id,
    image: RUNNER_IMAGE,
    workspaceKey: runnerId,
    alias: undefined,
    status: "failed",
    error: "test",
    createdAt,
    expiresAt,
  });
  return runnerId;
}

describe("Runner announcements of a long session against the real Docker engine", () => {
  let fx: RunnerServiceFixture;
  let alice: Principal;

  beforeAll(async () => {
    fx = await createRunnerServiceFixture();
    alice = fx.principal("announce");
    // Runtime events: a removal is followed by the container's destroy event, a second change for the same runner.
    fx.runners.startBackgroundWork([]);
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  it("announces a runner ready and removed once each, and keeps no status for it once it is removed", async () => {
    const session = await openSession(fx, alice);
    try {
      const runner = await fx.runners.spawn(alice, {});
      await eventually("the ready announcement", async () =>
        session.told.some((told) => told.runner_id === runner.runnerId && told.status === "ready"),
      );
      expect(session.announcements).toMatchObject({ runners: 1, removals: 0 });

      let changes = 0;
      const stop = fx.runners.onRunnerChange((_, runnerId) => void (runnerId === runner.runnerId && changes++));
      try {
        await fx.runners.remove(alice, runner.runnerId, { removeVolume: true });
        await eventually("the destroy event after the removal", async () => changes >= 2);
      } finally {
        stop();
      }
      // Announcements go out in order: once this later removal is told, the destroy event's turn has passed.
      const later = recordFailedSpawn(fx, alice);
      await fx.runners.remove(alice, later);
      await eventually("the later removal's announcement", async () =>
        session.told.some((told) => told.runner_id === later),
      );

      expect(session.told.filter((told) => told.runner_id === runner.runnerId).map((told) => told.status)).toEqual([
        "ready",
        "removed",
      ]);
      expect(session.announcements).toMatchObject({ runners: 0, removals: 2 });
    } finally {
      await session.close();
    }
  });

  it(`remembers only the last ${REMEMBERED_REMOVALS} removed runners, however many the session saw removed`, async () => {
    const session = await openSession(fx, alice);
    try {
      const count = REMEMBERED_REMOVALS + 10;
      for (let i = 0; i < count; i++) await fx.runners.remove(alice, recordFailedSpawn(fx, alice));
      await eventually(`${count} removal announcements`, async () => session.told.length === count, 300);
      expect(new Set(session.told.map((told) => told.status))).toEqual(new Set(["removed"]));
      expect(session.announcements).toMatchObject({ runners: 0, removals: REMEMBERED_REMOVALS });
    } finally {
      await session.close();
    }
  });
});
