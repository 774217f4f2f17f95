import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fileEntrySchema, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";

const MAX_LIMIT = 10_000;

export function registerFsListTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "fs_list",
    {
      title: "List a directory",
      description: "List the entries of a directory in a runner, sorted by name. Relative paths resolve against /work.",
      inputSchema: {
        runner: runnerArg,
        path: z.string().default(".").describe('The directory, e.g. "/work" or "src". Defaults to /work.'),
        limit: z.number().int().min(1).max(MAX_LIMIT).default(1000).describe(`Most entries to return (1 to ${MAX_LIMIT}, default 1000).`),
      },
      outputSchema: {
        path: z.string().describe("The directory listed, as an absolute path."),
        entries: z.array(fileEntrySchema),
        truncated: z.boolean().describe("True when the directory has more entries than were returned; raise limit to see more."),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ runner, path, limit }) => {
      try {
        const listing = await deps.files.list(deps.principal, runner, path, limit);
        const entries = listing.entries.map(toFileEntry);
        const lines = entries.map((entry) => `${entry.type === "directory" ? "d" : entry.type === "symlink" ? "l" : "-"} ${entry.mode} ${String(entry.size).padStart(10)} ${entry.name}`);
        return toolSuccess(
          { path: listing.directory.path, entries, truncated: listing.truncated },
          `${listing.directory.path} (${entries.length} entries${listing.truncated ? ", truncated" : ""})\n${lines.join("\n")}`,
        );
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
