import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createControlPlane, type ControlPlane } from "../control-plane.js";
import { ControlPlaneError, type ErrorCode } from "../errors.js";
import { createLogger } from "../log.js";
import { execCallError } from "../runners/exec/exec-call-error.js";
import { runnerNotFound } from "../runners/runner-refs.js";
import { runnerUnavailable } from "../runners/runner-unavailable.js";
import { snapshotNotFound } from "../runners/snapshots/snapshot-service.js";
import { volumeInUse, volumeSharedWith, workspaceNotFound } from "../runners/workspaces/workspace-service.js";
import type { SpawnRecord } from "../store/state-store.js";
import { createMcpServer } from "./mcp-server.js";
import { SessionWatches } from "./session-watches.js";
import { RECOVERY_BY_CODE, recoveryHint } from "./tool-result.js";

const SOURCE_ROOT = join(import.meta.dirname, "..");
/** The folders whose errors reach tool results (the CLI and readiness checks write hints for operators). */
const TOOL_ERROR_FOLDERS = ["agent-client", "mcp", "runners", "runtime"];
/** A word that looks like a tool of ours: a tool family's prefix, or exec itself. Quoted values ("export_root") are not names. */
const TOOL_LIKE = /\b(?:exec|(?:runner|exec|fs|snapshot|volume|export|system)_[a-z_]+)\b/g;

function spawnRecord(status: SpawnRecord["status"]): SpawnRecord {
  return {
    runnerId: "r-0123456789ab",
    principal: "p",
    image: "i",
    workspaceKey: undefined,
    alias: "a",
    status,
    error: "boom",
    createdAt: "",
    expiresAt: "",
  };
}

/** An agent error as the gRPC mapping passes it through, before the exec layer adds its hint. */
function agentError(code: ErrorCode): ControlPlaneError {
  return new ControlPlaneError(code, `The agent refused (${code}).`);
}

/** Each cause a tool reports with its own hint: the error as its raise site builds it, and the tools the way out must name. */
const CAUSES: { cause: string; error: () => unknown; names: string[] }[] = [
  {
    cause: "snapshot not found (snapshot_remove, runner_spawn)",
    error: () => snapshotNotFound("s-0123456789ab"),
    names: ["snapshot_list"],
  },
  { cause: "workspace not found (volume_remove)", error: () => workspaceNotFound("ws"), names: ["volume_list"] },
  {
    cause: "workspace mounted (volume_remove)",
    error: () => volumeInUse("ws", ["r-0123456789ab"]),
    names: ["runner_remove", "volume_remove"],
  },
  {
    cause: "workspace shared (runner_remove remove_volume)",
    error: () => volumeSharedWith("ws", "r-0123456789ab", ["r-ba9876543210"]),
    names: ["runner_remove"],
  },
  {
    cause: "runner not found (every runner tool)",
    error: () => runnerNotFound("build-1"),
    names: ["runner_list", "runner_spawn"],
  },
  {
    cause: "runner still starting",
    error: () => runnerUnavailable("a", { kind: "spawn", spawn: spawnRecord("starting") }),
    names: ["runner_attach"],
  },
  {
    cause: "runner failed to start",
    error: () => runnerUnavailable("a", { kind: "spawn", spawn: spawnRecord("failed") }),
    names: ["runner_remove", "runner_spawn"],
  },
  {
    cause: "exec not found (exec_read)",
    error: () => execCallError(agentError("NOT_FOUND"), "read"),
    names: ["exec_list", "exec"],
  },
  {
    cause: "exec not found (exec_write)",
    error: () => execCallError(agentError("NOT_FOUND"), "write"),
    names: ["exec_list"],
  },
  {
    cause: "exec not found (exec_signal)",
    error: () => execCallError(agentError("NOT_FOUND"), "signal"),
    names: ["exec_list"],
  },
  {
    cause: "stdin closed or process ended (exec_write)",
    error: () => execCallError(agentError("FAILED_PRECONDITION"), "write"),
    names: ["exec_read", "exec"],
  },
  {
    cause: "process ended (exec_signal)",
    error: () => execCallError(agentError("FAILED_PRECONDITION"), "signal"),
    names: ["exec_read"],
  },
  {
    cause: "too many watches (fs_watch)",
    error: async () => {
      const watches = new SessionWatches(0);
      return watches.start("r-0123456789ab", () => Promise.resolve({ watchId: "w" })).catch((error: unknown) => error);
    },
    names: ["fs_changes", "fs_watch"],
  },
];

/** Every `hint:` literal where tool errors are raised, with its file: also the raise sites no unit test reaches (Docker, the agent). */
async function hintLiterals(): Promise<{ file: string; text: string }[]> {
  const files = (await readdir(SOURCE_ROOT, { recursive: true })).filter(
    (file) =>
      TOOL_ERROR_FOLDERS.some((folder) => file.startsWith(`${folder}/`)) &&
      file.endsWith(".ts") &&
      !file.endsWith(".test.ts"),
  );
  const found: { file: string; text: string }[] = [];
  for (const file of files) {
    const source = await readFile(join(SOURCE_ROOT, file), "utf8");
    for (const match of source.matchAll(/\bhint: (["'`])((?:\\.|(?!\1).)*)\1/g))
      found.push({ file, text: match[2] ?? "" });
  }
  return found;
}

describe("recovery hints name tools that exist, and fit their cause", () => {
  let stateDir: string;
  let controlPlane: ControlPlane;
  let client: Client;
  let toolNames: Set<string>;
  let fieldNames: Set<string>;

  /** The tool-like words of a hint that are neither a tool nor an argument or result field of one. */
  const unknownTools = (hint: string): string[] =>
    [...hint.replaceAll(/"[^"]*"/g, '""').matchAll(TOOL_LIKE)]
      .map((match) => match[0])
      .filter((word) => !toolNames.has(word) && !fieldNames.has(word));
  const namedTools = (hint: string): string[] =>
    [...hint.matchAll(TOOL_LIKE)].map((match) => match[0]).filter((word) => toolNames.has(word));

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "devhatchery-recovery-hints-test-"));
    // No engine: an address where nothing listens; listing tools needs none.
    const config = loadConfig({
      HOME: stateDir,
      DEVHATCHERY_STATE_DIR: stateDir,
      DEVHATCHERY_DOCKER_HOST: `unix://${join(stateDir, "no-engine.sock")}`,
    });
    const log = createLogger("silent");
    controlPlane = createControlPlane(config, log);
    const server = createMcpServer(controlPlane.sessionDeps({ id: "recovery-hints-test" }, log), "1.0.0");
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: "recovery-hints-test", version: "1.0.0" });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    const { tools } = await client.listTools();
    toolNames = new Set(tools.map((tool) => tool.name));
    fieldNames = new Set(
      tools.flatMap((tool) => [
        ...Object.keys(tool.inputSchema.properties ?? {}),
        ...Object.keys(tool.outputSchema?.properties ?? {}),
      ]),
    );
  });

  afterAll(async () => {
    await client?.close();
    await controlPlane?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("finds the tools it checks against", () => {
    expect(toolNames.size).toBeGreaterThan(20);
    expect(unknownTools("run it again with exec, then exec_nope; exec_id and workspace_key are fields")).toEqual([
      "exec_nope",
    ]);
  });

  it.each(Object.entries(RECOVERY_BY_CODE) as [ErrorCode, string][])(
    "the fallback for %s names only tools that exist",
    (_code, hint) => {
      expect(unknownTools(hint)).toEqual([]);
    },
  );

  it.each(CAUSES)("$cause: a hint of its own, naming the tools that recover", async ({ error, names }) => {
    const failure = await error();
    expect(failure).toBeInstanceOf(ControlPlaneError);
    const raised = failure as ControlPlaneError;
    expect(raised.hint, "a hint written where it is raised").toBeDefined();
    const hint = recoveryHint(raised);
    expect(hint).not.toBe(RECOVERY_BY_CODE[raised.code]);
    expect(unknownTools(hint)).toEqual([]);
    expect(namedTools(hint)).toEqual(expect.arrayContaining(names));
  });

  it("names only tools that exist in every hint written at a raise site", async () => {
    const literals = await hintLiterals();
    expect(literals.length).toBeGreaterThan(CAUSES.length);
    for (const { file, text } of literals) {
      expect(unknownTools(text), `${file}: ${text}`).toEqual([]);
      // A resource's hint may name the protocol method that recovers instead.
      const recovers = namedTools(text).length > 0 || /\bresources\/[a-z]+/.test(text);
      expect(recovers, `${file}: a hint should name the tool that recovers: ${text}`).toBe(true);
    }
  });
});
