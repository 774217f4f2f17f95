import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { getObjectShape, type AnySchema } from "@modelcontextprotocol/sdk/server/zod-compat.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createControlPlane, type ControlPlane } from "../control-plane.js";
import { createLogger } from "../log.js";
import { TOOL_SETS } from "../config/tool-sets.js";
import { createMcpServer } from "./mcp-server.js";
import type { SessionDeps } from "./tool-deps.js";

interface RegisteredSchemas {
  inputSchema?: AnySchema;
  outputSchema?: AnySchema;
}

/** McpServer keeps its tools in a private record; reading it is the only way to see what a session built. */
function registeredTools(server: McpServer): Record<string, RegisteredSchemas> {
  const tools: unknown = (server as unknown as { _registeredTools?: unknown })._registeredTools;
  if (!tools || typeof tools !== "object")
    throw new Error("McpServer._registeredTools was not found; this test needs updating for this SDK version.");
  return tools as Record<string, RegisteredSchemas>;
}

function fieldsOf(schema: AnySchema | undefined): Record<string, AnySchema> {
  return getObjectShape(schema as Parameters<typeof getObjectShape>[0]) ?? {};
}

describe("createMcpServer", () => {
  let stateDir: string;
  let controlPlane: ControlPlane;
  let deps: SessionDeps;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "devhatchery-mcp-server-test-"));
    // No engine: an address where nothing listens, so reconciling at start touches no real runner.
    const config = loadConfig({
      HOME: stateDir,
      DEVHATCHERY_STATE_DIR: stateDir,
      DEVHATCHERY_DOCKER_HOST: `unix://${join(stateDir, "no-engine.sock")}`,
    });
    const log = createLogger("silent");
    controlPlane = createControlPlane(config, log);
    deps = controlPlane.sessionDeps({ id: "mcp-server-test" }, log);
  });

  afterAll(async () => {
    await controlPlane?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("puts every tool in exactly one tool set, so a policy's sets never miss a tool", () => {
    const names = Object.keys(registeredTools(createMcpServer(deps, "1.0.0"))).sort();
    const inSets = Object.values(TOOL_SETS).flat();
    expect([...inSets].sort()).toEqual(names);
    expect(new Set(inSets).size).toBe(inSets.length);
  });

  it("builds no tool schema per session: every input and output field is the same object in two sessions", () => {
    const first = registeredTools(createMcpServer(deps, "1.0.0"));
    const second = registeredTools(createMcpServer(deps, "1.0.0"));
    expect(Object.keys(second)).toEqual(Object.keys(first));
    expect(Object.keys(first).length).toBeGreaterThan(20);
    for (const [name, tool] of Object.entries(first)) {
      const other = second[name]!;
      for (const which of ["inputSchema", "outputSchema"] as const) {
        const fields = fieldsOf(tool[which]);
        const otherFields = fieldsOf(other[which]);
        expect(Object.keys(otherFields), `${name} ${which}`).toEqual(Object.keys(fields));
        for (const [field, schema] of Object.entries(fields))
          expect(otherFields[field], `${name} ${which}.${field}`).toBe(schema);
      }
    }
  });
});
