import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { failuresOf, runConformance } from "../support/conformance-suite.js";
import { connectClient } from "../support/mcp-client.js";

/** Every active server scenario of @modelcontextprotocol/conformance 0.1.16. */
const ACTIVE_SCENARIOS = [
  "completion-complete",
  "dns-rebinding-protection",
  "elicitation-sep1034-defaults",
  "elicitation-sep1330-enums",
  "logging-set-level",
  "ping",
  "prompts-get-embedded-resource",
  "prompts-get-simple",
  "prompts-get-with-args",
  "prompts-get-with-image",
  "prompts-list",
  "resources-list",
  "resources-read-binary",
  "resources-read-text",
  "resources-subscribe",
  "resources-templates-read",
  "resources-unsubscribe",
  "server-initialize",
  "server-sse-multiple-streams",
  "tools-call-audio",
  "tools-call-elicitation",
  "tools-call-embedded-resource",
  "tools-call-error",
  "tools-call-image",
  "tools-call-mixed-content",
  "tools-call-sampling",
  "tools-call-simple-text",
  "tools-call-with-logging",
  "tools-call-with-progress",
  "tools-list",
];

/**
 * The scenarios that need no fixtures. tools-call-simple-text and tools-call-error also pass against a server
 * without their fixture tools, so they count only in fixtures mode.
 */
const FIXTURE_FREE_SCENARIOS = [
  "dns-rebinding-protection",
  "logging-set-level",
  "ping",
  "resources-list",
  "server-initialize",
  "server-sse-multiple-streams",
  "tools-list",
];

describe("MCP conformance suite against the real control plane", () => {
  describe("in test fixtures mode (DEVHATCHERY_TEST_FIXTURES=1)", () => {
    let server: ControlPlaneProcess;
    beforeAll(async () => {
      server = await startControlPlane({ DEVHATCHERY_TEST_FIXTURES: "1" });
    });
    afterAll(async () => {
      expect(await server?.stop()).toBe(0);
    });

    it("passes every check of every active server scenario", async () => {
      const run = await runConformance(server.url);
      expect([...run.scenarios.keys()].sort(), run.output).toEqual(ACTIVE_SCENARIOS);
      for (const [scenario, checks] of run.scenarios) {
        expect(checks.length, scenario).toBeGreaterThan(0);
        expect(failuresOf(checks), scenario).toEqual([]);
        expect(
          checks.some((check) => check.status === "SUCCESS"),
          scenario,
        ).toBe(true);
      }
      expect(run.exitCode, run.output).toBe(0);
    });
  });

  describe("in normal mode", () => {
    let server: ControlPlaneProcess;
    beforeAll(async () => {
      server = await startControlPlane({});
    });
    afterAll(async () => {
      expect(await server?.stop()).toBe(0);
    });

    it.each(FIXTURE_FREE_SCENARIOS)("passes %s", async (scenario) => {
      const run = await runConformance(server.url, scenario);
      expect([...run.scenarios.keys()]).toEqual([scenario]);
      const checks = run.scenarios.get(scenario)!;
      expect(failuresOf(checks), run.output).toEqual([]);
      expect(checks.some((check) => check.status === "SUCCESS")).toBe(true);
      expect(run.exitCode, run.output).toBe(0);
    });

    it("serves none of the fixtures", async () => {
      const client = await connectClient(server.url);
      try {
        const { tools } = await client.listTools();
        expect(tools.filter((tool) => tool.name.startsWith("test_"))).toEqual([]);
        expect(client.getServerCapabilities()?.prompts).toBeUndefined();
        await expect(client.readResource({ uri: "test://static-text" })).rejects.toThrow(/test:\/\/static-text/);
        const fixtureRun = await runConformance(server.url, "tools-call-image");
        expect(failuresOf(fixtureRun.scenarios.get("tools-call-image")!)).toHaveLength(1);
      } finally {
        await client.close();
      }
    });
  });
});
