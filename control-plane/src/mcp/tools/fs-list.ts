import { posix } from "node:path";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fileEntrySchema, runnerArg, toFileEntry, type FileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

const MAX_LIMIT = 10_000;
const MAX_DEPTH = 32;

const TOOL = {
  title: "List a directory",
  description:
    "List the entries of a directory in a runner, optionally recursively. Entries come breadth first: the directory's own entries sorted by name, " +
    "then those one level down, and so on, so a limit drops the deepest entries first. Symlinks are listed, not followed.",
  inputSchema: z.object({
    runner: runnerArg,
    path: z
      .string()
      .min(1)
      .default(".")
      .describe(
        'The directory, e.g. "/work" or "src". Relative paths resolve against your first root folder in this runner, else /work; defaults to that folder.',
      ),
    depth: z
      .number()
      .int()
      .min(1)
      .max(MAX_DEPTH)
      .default(1)
      .describe(
        `How many levels to list: 1 (default) for the directory's own entries, 2 to add those of its subdirectories, … up to ${MAX_DEPTH}.`,
      ),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_LIMIT)
      .default(1000)
      .describe(`Most entries to return (1 to ${MAX_LIMIT}, default 1000).`),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    path: z.string().describe("The directory listed, as an absolute path."),
    entries: z.array(fileEntrySchema),
    truncated: z
      .boolean()
      .describe(
        "True when more entries exist within depth than limit allowed; raise limit, lower depth or list a subdirectory.",
      ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerFsListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_list", TOOL, async ({ runner, path, depth, limit }, extra) => {
    const target = await canonicalRunner(deps, runner);
    const listing = await deps.files.list(
      deps.principal,
      target.id,
      await deps.roots.resolvePath(target.id, path, extra),
      limit,
      depth,
    );
    const entries = listing.entries.map(toFileEntry);
    const lines = entries.map((entry) => renderEntry(listing.directory.path, entry));
    return toolSuccess(
      { runner_id: target.id, path: listing.directory.path, entries, truncated: listing.truncated },
      withRunnerNote(
        target,
        `${listing.directory.path} (${entries.length} entries${listing.truncated ? ", truncated" : ""})\n${lines.join("\n")}`,
      ),
    );
  });
}

function renderEntry(directory: string, entry: FileEntry): string {
  const kind = entry.type === "directory" ? "d" : entry.type === "symlink" ? "l" : entry.type === "other" ? "?" : "-";
  const name = posix.relative(directory, entry.path) + (entry.type === "directory" ? "/" : "");
  const link = entry.link_target === undefined ? "" : ` -> ${entry.link_target}`;
  return `${kind} ${entry.mode} ${String(entry.size).padStart(10)} ${name}${link}`;
}
