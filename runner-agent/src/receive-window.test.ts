import { connect, type Settings } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentHarness, type AgentHarness } from "../test/agent-harness.js";

const WINDOW_BYTES = 4 * 1024 * 1024;

describe("the agent's HTTP/2 receive window", () => {
  let agent: AgentHarness;
  beforeAll(async () => {
    agent = await startAgentHarness();
  });
  afterAll(async () => {
    await agent.close();
  });

  it("lets a client send 4 MiB per stream and per connection ahead of the agent reading", async () => {
    const session = connect(`http://127.0.0.1:${agent.server.port}`);
    try {
      const settings = await new Promise<Settings>((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
      });
      expect(settings.initialWindowSize).toBe(WINDOW_BYTES);
      // The connection-level window grows by a WINDOW_UPDATE that follows the settings.
      for (let attempt = 0; attempt < 100 && session.state.remoteWindowSize !== WINDOW_BYTES; attempt++)
        await sleep(10);
      expect(session.state.remoteWindowSize).toBe(WINDOW_BYTES);
    } finally {
      session.destroy();
    }
  });
});
