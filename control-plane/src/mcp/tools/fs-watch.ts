import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const TOOL = {
  title: "Watch files for changes",
  description:
    "Start watching a directory tree (or one file) in a runner for changes; read them with fs_changes, passing the watch_id and the cursor returned here. " +
    "Changes are batched (50 ms of quiet ends a batch) and kept in a history, so nothing is lost between fs_changes calls; if changes were lost anyway " +
    "(history or burst overflow) fs_changes says so and you re-list the tree. node_modules, .git and similar are ignored by default. " +
    "The watch closes after 10 minutes without fs_changes calls. Relative paths resolve against your first root in the runner, else /work.",
  inputSchema: z.object({
    runner: runnerArg,
    path: z
      .string()
      .min(1)
      .default(".")
      .describe('The directory or file to watch, e.g. "/work/src" or "src". Defaults to your root (/work).'),
    recursive: z.boolean().default(true).describe("Watch subdirectories too (default true). Ignored for a file."),
    ignore: z
      .array(z.string().min(1).max(1024))
      .max(256)
      .default([])
      .describe(
        'Extra patterns to ignore, in .gitignore syntax relative to the watched directory, e.g. ["*.log", "build/"]; "!node_modules/" watches node_modules after all.',
      ),
    gitignore: z
      .boolean()
      .default(true)
      .describe("Honour .gitignore files in the tree and its git repository (default true)."),
    history_limit: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .describe(
        "Change batches kept for fs_changes (default 1000). If more batches happen between two fs_changes calls, the oldest are dropped and fs_changes reports a resync.",
      ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    watch_id: z.string().describe("The watch's id; pass it to fs_changes."),
    path: z.string().describe("The watched path, absolute."),
    type: z.enum(["directory", "file"]).describe("Whether a directory tree or a single file is watched."),
    recursive: z.boolean(),
    cursor: z.number().int().describe("Pass this to fs_changes to get the changes from now on."),
    watched_directories: z.number().int().describe("Directories being watched (ignored ones are not entered)."),
    default_ignores: z
      .array(z.string())
      .describe("Patterns ignored by default, before .gitignore files and your ignore patterns."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
};

export function registerFsWatchTool(server: McpServer, deps: ToolDeps): void {
  registerTool(
    server,
    "fs_watch",
    TOOL,
    async ({ runner, path, recursive, ignore, gitignore, history_limit }, extra) => {
      const target = await canonicalRunner(deps, runner);
      const resolved = await deps.roots.resolvePath(target.id, path, extra);
      const watch = await deps.sessionWatches.start(target.id, () =>
        deps.watches.start(deps.principal, target.id, resolved, {
          recursive,
          ignore,
          gitignore,
          historyLimit: history_limit,
        }),
      );
      const type = watch.isDirectory ? "directory" : "file";
      return toolSuccess(
        {
          runner_id: target.id,
          watch_id: watch.watchId,
          path: watch.path,
          type,
          recursive: watch.recursive,
          cursor: watch.cursor,
          watched_directories: watch.watchedDirectories,
          default_ignores: watch.defaultIgnores,
        },
        withRunnerNote(
          target,
          `Watching ${type} ${watch.path}${watch.recursive ? " recursively" : ""} (${watch.watchedDirectories} directories): watch_id ${watch.watchId}, cursor ${watch.cursor}. ` +
            "Read changes with fs_changes.",
        ),
      );
    },
  );
}
