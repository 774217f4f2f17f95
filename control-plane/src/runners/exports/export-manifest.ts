import { createHash } from "node:crypto";

/** One member of an export, as recorded in its manifest. */
export interface ManifestEntry {
  path: string;
  type: "file" | "directory" | "symlink";
  size: number;
  /** Permission bits, e.g. 0o644 (420). */
  mode: number;
  /** sha256 of a file's bytes, hex. */
  sha256?: string;
  /** Where a symlink points. */
  link_target?: string;
}

export type ExportFormat = "tar" | "tar.gz" | "tar.zst" | "dir";

/** The JSON written next to every export (`<name>.manifest.json`); snake_case like the tools' outputs. */
export interface ExportManifest {
  manifest_version: 1;
  export_id: string;
  /** The export's file or folder name, next to this manifest. */
  name: string;
  format: ExportFormat;
  principal: string;
  runner_id: string;
  source_path: string;
  include: string[];
  exclude: string[];
  created_at: string;
  /** Bytes of the archive file; for "dir", the bytes of the files written. */
  bytes_written: number;
  /** sha256 of the archive file's bytes, hex; for "dir", of the uncompressed tar stream it was extracted from. */
  sha256: string;
  file_count: number;
  files: ManifestEntry[];
}

export const MANIFEST_SUFFIX = ".manifest.json";

/** Hashes a member's bytes as they pass; returns the hex sha256 and the byte count. */
export async function hashBody(
  body: AsyncIterable<Buffer>,
  onChunk?: (chunk: Buffer) => Promise<void>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
    if (onChunk) await onChunk(chunk);
  }
  return { sha256: hash.digest("hex"), size };
}
