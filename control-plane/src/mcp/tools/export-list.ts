import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { exportSummarySchema, toExportSummary } from "./export-schemas.js";

const TOOL = {
  title: "List your exports",
  description:
    "List the exports you made to the server's export root with export_create, newest first (exports written into runner mounts are in those folders).",
  inputSchema: z.object({}),
  outputSchema: z.object({ exports: z.array(z.object(exportSummarySchema)).describe("Your exports, newest first.") }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerExportListTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "export_list", TOOL, async () => {
    const exports = (await deps.exports.list(deps.principal)).map(toExportSummary);
    const lines = exports.map(
      (item) =>
        `${item.name} (${item.format}, ${item.file_count} files, ${item.bytes_written} bytes) from ${item.runner_id}:${item.source_path}`,
    );
    return toolSuccess(
      { exports },
      exports.length > 0 ? lines.join("\n") : "No exports yet; create one with export_create.",
    );
  });
}
