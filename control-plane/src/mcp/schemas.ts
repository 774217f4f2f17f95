import { z } from "zod";
import type { FileInfo } from "../runners/file-service.js";

/** The `runner` argument every runner tool takes. */
export const runnerArg = z
  .string()
  .min(1)
  .describe('The runner to act on: the runner_id returned by runner_spawn, e.g. "r-0123456789ab".');

/** A file entry as tools return it. */
export const fileEntrySchema = z.object({
  name: z.string().describe("The entry's name."),
  path: z.string().describe("Absolute path inside the runner."),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: z.number().int().describe("Size in bytes."),
  mode: z.string().describe('Permission bits in octal, e.g. "0644".'),
  modified_at: z.string().describe("Last modification time, ISO 8601."),
  etag: z
    .string()
    .describe("Identifies this version of the file; it changes on every write. The same file has the same etag in fs_read, fs_write and fs_list."),
});

export type FileEntry = z.infer<typeof fileEntrySchema>;

export function toFileEntry(info: FileInfo): FileEntry {
  return {
    name: info.name,
    path: info.path,
    type: info.type,
    size: info.size,
    mode: formatMode(info.mode),
    modified_at: new Date(info.mtimeMs).toISOString(),
    etag: info.etag,
  };
}

export function formatMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;
}
