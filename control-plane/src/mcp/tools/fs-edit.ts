import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { ControlPlaneError } from "../../errors.js";
import { EDIT_CAP_BYTES } from "../../runners/files/file-service.js";
import type { FileEdit } from "../../runners/files/file-edits.js";
import { fileEntrySchema, ifMatchArg, pathArg, runnerArg, toFileEntry } from "../schemas.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerTool } from "../register-tool.js";
import { toolSuccess } from "../tool-result.js";
import { canonicalRunner, runnerIdOutput, withRunnerNote } from "../canonical-runner.js";

/** The diff a result carries inline at most. */
const DIFF_INLINE_CHARS = 64 * 1024;

const oldString = z
  .string()
  .max(1024 * 1024)
  .describe("The exact text to replace, whitespace and indentation included; it must occur once unless replace_all.");
const newString = z
  .string()
  .max(4 * 1024 * 1024)
  .describe("The text to put in its place.");
const replaceAll = z.boolean().default(false).describe("Replace every occurrence instead of exactly one.");

const TOOL = {
  title: "Edit a file",
  description:
    "Change a text file in a runner by exact-string replacement: old_string → new_string (must match exactly once, unless replace_all), " +
    "or several replacements at once in `edits`, applied in order. All or nothing: if any edit does not match, nothing is written; the change is " +
    "written atomically only if the file is still the version read (ETAG_MISMATCH otherwise: re-read and retry), keeping its mode. " +
    `Returns the new etag and a unified diff. Text files up to ${EDIT_CAP_BYTES} bytes; create files with fs_write.`,
  inputSchema: z.object({
    runner: runnerArg,
    path: pathArg("The file to edit", "/work/src/app.py"),
    old_string: oldString.optional(),
    new_string: newString.optional(),
    replace_all: replaceAll,
    edits: z
      .array(z.object({ old_string: oldString, new_string: newString, replace_all: replaceAll }).strict())
      .min(1)
      .max(100)
      .optional()
      .describe("Several replacements applied in order (each sees the ones before); instead of old_string/new_string."),
    if_match: ifMatchArg.describe(
      "The etag the file must have (from fs_read or an earlier edit); refused with ETAG_MISMATCH if it changed. Without it the file is edited as it is now.",
    ),
  }),
  outputSchema: z.object({
    runner_id: runnerIdOutput,
    file: fileEntrySchema.describe("The file as written, with its new etag."),
    previous_etag: z.string().describe("The version that was edited."),
    replacements: z.number().int().describe("How many occurrences were replaced, all edits together."),
    diff: z.string().describe("The change as a unified diff (3 lines of context)."),
    diff_truncated: z.boolean().describe("The diff was longer than 64 KiB and was cut; fs_read shows the file."),
  }),
  // Destructive: it replaces the file's content; not idempotent (a second identical call finds nothing to replace).
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
};

export function registerFsEditTool(server: McpServer, deps: ToolDeps): void {
  registerTool(server, "fs_edit", TOOL, async (args, extra) => {
    const target = await canonicalRunner(deps, args.runner);
    const edited = await deps.files.edit(
      deps.principal,
      target.id,
      await deps.roots.resolvePath(target.id, args.path, extra),
      editsOf(args),
      { ifMatch: args.if_match },
    );
    const file = toFileEntry(edited.info);
    const truncated = edited.diff.length > DIFF_INLINE_CHARS;
    const diff = truncated ? `${edited.diff.slice(0, DIFF_INLINE_CHARS)}\n… (diff cut at 64 KiB)\n` : edited.diff;
    return toolSuccess(
      {
        runner_id: target.id,
        file,
        previous_etag: edited.previousEtag,
        replacements: edited.replacements,
        diff,
        diff_truncated: truncated,
      },
      withRunnerNote(
        target,
        `Edited ${file.path}: ${edited.replacements} replacement${edited.replacements === 1 ? "" : "s"}, etag ${file.etag}.\n${diff}`,
      ),
    );
  });
}

/** The edits asked for: `edits`, or the one given by old_string and new_string (exactly one of the two forms). */
function editsOf(args: {
  old_string?: string | undefined;
  new_string?: string | undefined;
  replace_all: boolean;
  edits?: Array<{ old_string: string; new_string: string; replace_all: boolean }> | undefined;
}): FileEdit[] {
  const single = args.old_string !== undefined || args.new_string !== undefined;
  if (args.edits && single)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      "Give either old_string and new_string, or edits, not both; put every replacement in edits.",
    );
  if (args.edits)
    return args.edits.map((edit) => ({
      oldString: edit.old_string,
      newString: edit.new_string,
      replaceAll: edit.replace_all,
    }));
  if (args.old_string === undefined || args.new_string === undefined)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      "fs_edit needs old_string and new_string (or edits); to create or replace a whole file use fs_write.",
    );
  return [{ oldString: args.old_string, newString: args.new_string, replaceAll: args.replace_all }];
}
