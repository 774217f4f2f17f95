import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { EXPORT_ROOT_DESTINATION } from "../../runners/exports/export-destination.js";
import { createProgressReporter } from "../progress.js";
import { pathArg, runnerArg } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";
import { exportSummarySchema, toExportSummary } from "./export-schemas.js";

const globs = z.array(z.string().min(1).max(512)).max(100).default([]);

const TOOL = {
  title: "Export files from a runner",
  description:
    "Export a file or folder of a runner to the server's host: as an archive (tar, tar.gz, tar.zst) or a plain folder (dir), with a manifest " +
    "next to it listing every file with its size, mode and sha256. By default it goes to your own folder in the export root (see export_list); " +
    "set destination to a folder under one of the runner's read-write /export mounts (runner_spawn mounts) to write it straight into that host folder. " +
    "The export is streamed and appears only when complete; a failed or cancelled export leaves nothing behind. Progress is reported for large exports.",
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The file or folder to export (a folder's contents are exported)", "/work/dist"),
    format: z
      .enum(["tar", "tar.gz", "tar.zst", "dir"])
      .default("tar.gz")
      .describe('"tar.gz" (default), "tar.zst" (zstd), "tar" (uncompressed), or "dir" (a plain folder of the files).'),
    include: globs.describe(
      'Only files and symlinks whose path (relative to `path`) matches one of these globs, e.g. ["**/*.py"]; all when empty.',
    ),
    exclude: globs.describe(
      'Leave out what matches these globs (a folder with everything in it), e.g. ["**/node_modules", "**/.git"].',
    ),
    destination: z
      .string()
      .min(1)
      .default(EXPORT_ROOT_DESTINATION)
      .describe(
        `"${EXPORT_ROOT_DESTINATION}" (default: your folder in the server's export root) or an existing folder under a read-write mount of this runner, e.g. "/export/out".`,
      ),
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
        'name must be letters, digits, ".", "_" or "-", starting with a letter or digit, at most 100',
      )
      .optional()
      .describe(
        'The export\'s name without extension, e.g. "build-42" (becomes "build-42.tar.gz"); it must not exist yet. Default: runner, path and time.',
      ),
  }),
  outputSchema: z.object({ ...exportSummarySchema, runner_id: runnerIdOutput }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
};

export function registerExportCreateTool(server: McpServer, deps: ToolDeps): void {
  registerTool(
    server,
    "export_create",
    TOOL,
    async ({ runner, path, format, include, exclude, destination, name }, extra) => {
      const report = createProgressReporter(extra);
      const target = await canonicalRunner(deps, runner);
      const record = await deps.exports.create(
        deps.principal,
        target.id,
        { path: await deps.roots.resolvePath(target.id, path, extra), format, include, exclude, destination, name },
        (bytes) => report(bytes, `${(bytes / 1024 / 1024).toFixed(1)} MiB read from the runner`),
        extra.signal,
      );
      const summary = toExportSummary(record);
      return toolSuccess(
        summary,
        withRunnerNote(
          target,
          `Exported ${record.manifest.source_path} (${summary.file_count} files, ${summary.bytes_written} bytes, sha256 ${summary.sha256}) to ${summary.runner_path ?? summary.host_path}.`,
        ),
      );
    },
  );
}
