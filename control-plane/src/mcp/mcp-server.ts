import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ToolDeps } from "./tool-deps.js";
import { registerExecTool } from "./tools/exec.js";
import { registerFsListTool } from "./tools/fs-list.js";
import { registerFsReadTool } from "./tools/fs-read.js";
import { registerFsWriteTool } from "./tools/fs-write.js";
import { registerRunnerRemoveTool } from "./tools/runner-remove.js";
import { registerRunnerSpawnTool } from "./tools/runner-spawn.js";

export const SERVER_NAME = "devhatchery";

const INSTRUCTIONS =
  "DevHatchery gives you real Linux development machines (runners). Start one with runner_spawn, " +
  "then run commands with exec and work with files using fs_read, fs_write and fs_list, passing the runner_id as `runner`. " +
  "Your work lives in /work. Remove runners you no longer need with runner_remove.";

/** One MCP server per session, bound to the session's principal. */
export function createMcpServer(deps: ToolDeps, version: string): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, title: "DevHatchery", version },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  registerRunnerSpawnTool(server, deps);
  registerExecTool(server, deps);
  registerFsReadTool(server, deps);
  registerFsWriteTool(server, deps);
  registerFsListTool(server, deps);
  registerRunnerRemoveTool(server, deps);
  return server;
}
