import { ControlPlaneError } from "../../errors.js";

/** One exact-string replacement, the shape agents use: `oldString` must occur once unless `replaceAll`. */
export interface FileEdit {
  oldString: string;
  newString: string;
  replaceAll: boolean;
}

/**
 * Applies edits in order to `text` (each sees the result of the ones before). Refuses, naming the edit and where the
 * matches are, an old string that is empty, not found, or found more than once without replace_all, and an edit that
 * changes nothing; returns the new text and how many replacements were made.
 */
export function applyEdits(
  text: string,
  edits: readonly FileEdit[],
  path: string,
): { text: string; replacements: number } {
  let current = text;
  let replacements = 0;
  edits.forEach((edit, index) => {
    const which = edits.length > 1 ? `edits[${index}]: ` : "";
    if (edit.oldString === "")
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `${which}old_string is empty; give the exact text to replace (fs_write creates or replaces a whole file).`,
      );
    if (edit.oldString === edit.newString)
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `${which}old_string and new_string are the same; nothing would change.`,
      );
    const positions = occurrences(current, edit.oldString);
    if (positions.length === 0) throw notFound(which, current, edit.oldString, path);
    if (positions.length > 1 && !edit.replaceAll)
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `${which}old_string occurs ${positions.length} times in ${path} (lines ${describeLines(current, positions)}); include more of the surrounding text to make it unique, or set replace_all to replace every one.`,
      );
    current = edit.replaceAll
      ? current.split(edit.oldString).join(edit.newString)
      : current.slice(0, positions[0]) + edit.newString + current.slice(positions[0]! + edit.oldString.length);
    replacements += edit.replaceAll ? positions.length : 1;
  });
  return { text: current, replacements };
}

/** Start offsets of the non-overlapping occurrences of `needle`. */
function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf("\n"); at >= 0 && at < offset; at = text.indexOf("\n", at + 1)) line++;
  return line;
}

function describeLines(text: string, positions: number[]): string {
  const lines = positions.slice(0, 10).map((offset) => lineOf(text, offset));
  return lines.join(", ") + (positions.length > 10 ? ", …" : "");
}

/** Not found: says why when the text is there with other whitespace or line endings. */
function notFound(which: string, text: string, needle: string, path: string): ControlPlaneError {
  const squeeze = (value: string): string => value.replace(/\s+/g, " ").trim();
  let why = "";
  if (
    needle.includes("\r\n") !== text.includes("\r\n") &&
    text.includes(needle.replace(/\r?\n/g, text.includes("\r\n") ? "\r\n" : "\n"))
  )
    why = " (it is there with other line endings: the file uses " + (text.includes("\r\n") ? "CRLF" : "LF") + ")";
  else if (squeeze(text).includes(squeeze(needle))) why = " (it is there with other whitespace or indentation)";
  return new ControlPlaneError(
    "INVALID_ARGUMENT",
    `${which}old_string was not found in ${path}${why}; copy it exactly from the file as it is now (fs_read), including whitespace.`,
  );
}
