import { registerExecResizeTool } from "./tools/exec-resize.js";
import { registerFsEditTool } from "./tools/fs-edit.js";
import { registerFsUnwatchTool } from "./tools/fs-unwatch.js";
import { registerJobCancelTool } from "./tools/job-cancel.js";
import { registerJobGetTool } from "./tools/job-get.js";
import { registerJobListTool } from "./tools/job-list.js";
import { registerJobRunTool } from "./tools/job-run.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { createClientLog } from "./client-log.js";
import { registerConformanceFixtures } from "./conformance-fixtures/register-conformance-fixtures.js";
import { announceRunnerChanges } from "./runner-announcements.js";
import type { SessionDeps, ToolDeps } from "./tool-deps.js";
import { registerSessionResources } from "./resources/session-resources.js";
import { SessionRoots } from "./roots/session-roots.js";
import { TASKS_CAPABILITY } from "./tasks/tasks-capability.js";
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
import { SessionWatches } from "./session-watches.js";
import { registerFsRemoveTool } from "./tools/fs-remove.js";
import { registerFsStatTool } from "./tools/fs-stat.js";
import { registerFsWriteTool } from "./tools/fs-write.js";
import { registerRunnerAttachTool } from "./tools/runner-attach.js";
import { registerRunnerListTool } from "./tools/runner-list.js";
import { registerRunnerRemoveTool } from "./tools/runner-remove.js";
import { registerRunnerSpawnTool } from "./tools/runner-spawn.js";
import { registerRunnerStopTool } from "./tools/runner-stop.js";
import { registerSnapshotCreateTool } from "./tools/snapshot-create.js";
import { registerSnapshotListTool } from "./tools/snapshot-list.js";
import { registerSnapshotRemoveTool } from "./tools/snapshot-remove.js";
import { registerSystemStatusTool } from "./tools/system-status.js";
import { registerVolumeListTool } from "./tools/volume-list.js";
import { registerVolumeRemoveTool } from "./tools/volume-remove.js";
import { NO_AUDIT } from "../audit.js";
import { registerRunnerPauseTools } from "./tools/runner-pause.js";
import { gateToolsByPolicy } from "./tool-policy-gate.js";

export const SERVER_NAME = "devhatchery";

const INSTRUCTIONS =
  'DevHatchery gives you real Linux development machines (runners). Start one with runner_spawn (give it a workspace_key such as "my-project" and an alias if you like), ' +
  "then run commands with exec and work with files using fs_read, fs_write, fs_list, fs_stat, fs_mkdir, fs_move and fs_remove (fs_write with if_match for safe edits), " +
  "passing the runner_id, the alias or the workspace_key as `runner`. " +
  "Your work lives in /work, a workspace volume that outlives the runner: runner_list and volume_list show what you have, runner_attach brings a runner back by workspace_key, alias or id " +
  "(starting it, or spawning a new one on the workspace), runner_stop stops one (its processes end; its files are kept, except a tmpfs /work), runner_pause freezes one and runner_resume thaws it, runner_remove deletes the runner but keeps /work unless you ask (volume_remove deletes a workspace). " +
  "snapshot_create saves a runner's installed state (everything outside /work) to spawn new runners from (runner_spawn snapshot); snapshot_list and snapshot_remove manage them. " +
  "runner_spawn with wait: false returns at once; a log message and notifications/resources/updated on devhatchery://runners/{runner_id} tell you when it is ready (it also runs as an MCP task). " +
  "Get results out with export_create (an archive or folder in your export folder, or straight into a read-write /export mount from runner_spawn's mounts). " +
  "Follow file changes with fs_watch and fs_changes; runners and their files are also resources (devhatchery://runners/{runner}/files/{path}) to read and subscribe to. " +
  "system_status says whether the server and its Docker engine are healthy.";

export interface McpServerOptions {
  /** Add the MCP conformance suite's fixtures (DEVHATCHERY_TEST_FIXTURES=1; tests only). */
  testFixtures?: boolean;
}

/**
 * One MCP server per session, bound to the session's principal. Tools and resources keep their schemas, descriptions
 * and annotations in module constants built once per process, so a session only wires its handlers.
 */
export function createMcpServer(sessionDeps: SessionDeps, version: string, options: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, title: "DevHatchery", version },
    {
      // Task-augmented tools/call (runner_spawn) with records in the principal's task store.
      capabilities: { logging: {}, tasks: TASKS_CAPABILITY },
      taskStore: sessionDeps.taskStore,
      instructions: INSTRUCTIONS,
    },
  );
  const deps: ToolDeps = {
    ...sessionDeps,
    roots: new SessionRoots(server.server, sessionDeps.log),
    version,
    sessionWatches: new SessionWatches(sessionDeps.sessionLimits.maxWatches),
  };
  registerSessionResources(server, deps);
  registerRunnerSpawnTool(server, deps);
  registerRunnerAttachTool(server, deps);
  registerRunnerListTool(server, deps);
  registerRunnerStopTool(server, deps);
  registerRunnerPauseTools(server, deps);
  registerExecTool(server, deps);
  registerExecReadTool(server, deps);
  registerExecWriteTool(server, deps);
  registerExecSignalTool(server, deps);
  registerExecResizeTool(server, deps);
  registerExecListTool(server, deps);
  registerExecOutputResource(server, deps);
  registerFsReadTool(server, deps);
  registerFsWriteTool(server, deps);
  registerFsEditTool(server, deps);
  registerFsListTool(server, deps);
  registerFsStatTool(server, deps);
  registerFsMkdirTool(server, deps);
  registerFsMoveTool(server, deps);
  registerFsRemoveTool(server, deps);
  registerFsWatchTool(server, deps);
  registerFsChangesTool(server, deps);
  registerFsUnwatchTool(server, deps);
  registerRunnerRemoveTool(server, deps);
  registerVolumeListTool(server, deps);
  registerVolumeRemoveTool(server, deps);
  registerSnapshotCreateTool(server, deps);
  registerSnapshotListTool(server, deps);
  registerSnapshotRemoveTool(server, deps);
  registerSystemStatusTool(server, deps);
  registerExportCreateTool(server, deps);
  registerExportListTool(server, deps);
  registerJobRunTool(server, deps);
  registerJobGetTool(server, deps);
  registerJobListTool(server, deps);
  registerJobCancelTool(server, deps);
  announceRunnerChanges(server, deps, createClientLog(server));
  if (options.testFixtures) registerConformanceFixtures(server);
  // Last: it wraps the tools/call handler that every registration above has set up.
  gateToolsByPolicy(server, deps.principal, deps.audit ?? NO_AUDIT);
  return server;
}
