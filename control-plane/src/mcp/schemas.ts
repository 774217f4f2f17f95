import { z } from "zod";
import type { FileInfo } from "../runners/files/file-service.js";

/** The `runner` argument every runner tool takes. */
export const runnerArg = z
  .string()
  .min(1)
  .max(128)
  .describe(
    'The runner to act on: its runner_id (e.g. "r-0123456789ab", from runner_spawn or runner_list), its alias (e.g. "build") or its workspace_key (e.g. "my-project").',
  );

/** A path argument of the file tools; `what` says which path, e.g. "The file to read". */
export function pathArg(what: string, example: string): z.ZodString {
  return z
    .string()
    .min(1)
    .describe(
      `${what}, e.g. "${example}". Relative paths resolve against your first root folder in this runner, else /work; absolute paths are used as given.`,
    );
}

/** Permission bits as an octal string; pass the value through parseMode. */
export const modeArg = z.string().regex(/^0?[0-7]{3,4}$/, 'mode must be octal permission bits such as "0644" or "755"');

/** An octal mode argument as a number; undefined stays undefined (the agent's default). */
export function parseMode(mode: string | undefined): number | undefined {
  return mode === undefined ? undefined : Number.parseInt(mode, 8);
}

/** The `if_match` argument of the conditional file tools. */
export const ifMatchArg = z.string().min(1).optional();

/** A file entry as tools return it. */
export const fileEntrySchema = z.object({
  name: z.string().describe("The entry's name."),
  path: z.string().describe("Absolute path inside the runner."),
  type: z.enum(["file", "directory", "symlink", "other"]).describe('"other" is a socket, FIFO or device.'),
  size: z.number().int().describe("Size in bytes."),
  mode: z.string().describe('Permission bits in octal, e.g. "0644".'),
  modified_at: z.string().describe("Last modification time, ISO 8601."),
  etag: z
    .string()
    .describe(
      "Identifies this version of the file; it changes on every write. The same file has the same etag in fs_read, fs_write, fs_stat and fs_list.",
    ),
  link_target: z
    .string()
    .optional()
    .describe("Present when the path is a symlink: where it points, as stored in the link."),
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
    ...(info.linkTarget ? { link_target: info.linkTarget } : {}),
  };
}

export function formatMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;
}
