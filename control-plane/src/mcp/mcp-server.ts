import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { createClientLog } from "./client-log.js";
import { registerConformanceFixtures } from "./fixtures/register-conformance-fixtures.js";
import { announceRunnerChanges } from "./runner-announcements.js";
import type { SessionDeps, ToolDeps } from "./tool-deps.js";
import { registerSessionResources } from "./resources/session-resources.js";
import { SessionRoots } from "./roots/session-roots.js";
import { registerExecOutputResource } from "./resources/exec-output-resource.js";
import { registerExecTool } from "./tools/exec.js";
import { registerExecListTool } from "./tools/exec-list.js";
import { registerExecReadTool } from "./tools/exec-read.js";
import { registerExecSignalTool } from "./tools/exec-signal.js";
import { registerExecWriteTool } from "./tools/exec-write.js";
import { registerExportCreateTool } from "./tools/export-create.js";
import { registerExportListTool } from "./tools/export-list.js";
import { registerFsListTool } from "./tools/fs-list.js";
import { registerFsMkdirTool } from "./tools/fs-mkdir.js";
import { registerFsMoveTool } from "./tools/fs-move.js";
import { registerFsChangesTool } from "./tools/fs-changes.js";
import { registerFsReadTool } from "./tools/fs-read.js";
import { registerFsWatchTool } from "./tools/fs-watch.js";
import { registerFsRemoveTool } from "./tools/fs-remove.js";
import { registerFsStatTool } from "./tools/fs-stat.js";
import { registerFsWriteTool } from "./tools/fs-write.js";
import { registerRunnerRemoveTool } from "./tools/runner-remove.js";
import { registerRunnerSpawnTool } from "./tools/runner-spawn.js";

export const SERVER_NAME = "devhatchery";

const INSTRUCTIONS =
  "DevHatchery gives you real Linux development machines (runners). Start one with runner_spawn, " +
  "then run commands with exec and work with files using fs_read, fs_write, fs_list, fs_stat, fs_mkdir, fs_move and fs_remove (fs_write with if_match for safe edits), passing the runner_id as `runner`. " +
  "Get results out with export_create (an archive or folder in your export folder, or straight into a read-write /export mount from runner_spawn's mounts). " +
  "Your work lives in /work. Remove runners you no longer need with runner_remove. " +
  "Follow file changes with fs_watch and fs_changes; runners and their files are also resources (devhatchery://runners/{runner}/files/{path}) to read and subscribe to.";

export interface McpServerOptions {
  /** Add the MCP conformance suite's fixtures (DEVHATCHERY_TEST_FIXTURES=1; tests only). */
  testFixtures?: boolean;
}

/** One MCP server per session, bound to the session's principal. */
export function createMcpServer(sessionDeps: SessionDeps, version: string, options: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, title: "DevHatchery", version },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  const deps: ToolDeps = { ...sessionDeps, roots: new SessionRoots(server.server, sessionDeps.log) };
  registerSessionResources(server, deps);
  registerRunnerSpawnTool(server, deps);
  registerExecTool(server, deps);
  registerExecReadTool(server, deps);
  registerExecWriteTool(server, deps);
  registerExecSignalTool(server, deps);
  registerExecListTool(server, deps);
  registerExecOutputResource(server, deps);
  registerFsReadTool(server, deps);
  registerFsWriteTool(server, deps);
  registerFsListTool(server, deps);
  registerFsStatTool(server, deps);
  registerFsMkdirTool(server, deps);
  registerFsMoveTool(server, deps);
  registerFsRemoveTool(server, deps);
  registerFsWatchTool(server, deps);
  registerFsChangesTool(server, deps);
  registerRunnerRemoveTool(server, deps);
  registerExportCreateTool(server, deps);
  registerExportListTool(server, deps);
  announceRunnerChanges(server, deps, createClientLog(server));
  if (options.testFixtures) registerConformanceFixtures(server);
  return server;
}
