import { z } from "zod";
import type { ExportRecord } from "../../runners/exports/export-service.js";

/** An export as export_create and export_list return it (the manifest file holds the per-file list). */
export const exportSummarySchema = {
  export_id: z.string().describe('The export\'s id, e.g. "e-0123456789ab".'),
  name: z.string().describe("The file (or folder, for format dir) name of the export."),
  format: z.enum(["tar", "tar.gz", "tar.zst", "dir"]),
  runner_id: z.string().describe("The runner it was exported from."),
  source_path: z.string().describe("The path in the runner that was exported."),
  created_at: z.string().describe("When it was written, ISO 8601."),
  bytes_written: z.number().int().describe("Bytes of the archive file; for dir, the bytes of the files written."),
  sha256: z
    .string()
    .describe(
      "sha256 of the archive file's bytes (hex); for dir, of the uncompressed tar stream it was extracted from.",
    ),
  file_count: z.number().int().describe("Regular files in the export."),
  host_path: z.string().describe("Where the export is on the server's host."),
  manifest_host_path: z.string().describe("The manifest next to it: every file with size, mode and sha256."),
  runner_path: z.string().optional().describe("Where the export is in the runner, when it went to one of its mounts."),
};

export function toExportSummary(record: ExportRecord): z.infer<z.ZodObject<typeof exportSummarySchema>> {
  const { manifest } = record;
  return {
    export_id: manifest.export_id,
    name: manifest.name,
    format: manifest.format,
    runner_id: manifest.runner_id,
    source_path: manifest.source_path,
    created_at: manifest.created_at,
    bytes_written: manifest.bytes_written,
    sha256: manifest.sha256,
    file_count: manifest.file_count,
    host_path: record.hostPath,
    manifest_host_path: `${record.hostPath}.manifest.json`,
    ...(record.runnerPath ? { runner_path: record.runnerPath } : {}),
  };
}
