import { describe, expect, it } from "vitest";
import { applyEdits } from "./file-edits.js";

const edit = (oldString: string, newString: string, replaceAll = false) => ({ oldString, newString, replaceAll });
const failure = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return `${(error as { code: string }).code}: ${(error as Error).message}`;
  }
  throw new Error("expected a failure");
};

describe("applyEdits", () => {
  it("replaces one unique occurrence, and every one with replaceAll", () => {
    expect(applyEdits("a b c", [edit("b", "B")], "/f")).toEqual({ text: "a B c", replacements: 1 });
    expect(applyEdits("x.x.x", [edit("x", "yy", true)], "/f")).toEqual({ text: "yy.yy.yy", replacements: 3 });
  });

  it("applies edits in order, each on the result of the ones before", () => {
    expect(applyEdits("one", [edit("one", "two"), edit("two", "three")], "/f")).toEqual({
      text: "three",
      replacements: 2,
    });
  });

  it("takes replacement text literally ($& and $1 are not patterns)", () => {
    expect(applyEdits("cost", [edit("cost", "$& $1 $$")], "/f").text).toBe("$& $1 $$");
    expect(applyEdits("a a", [edit("a", "$&", true)], "/f").text).toBe("$& $&");
  });

  it("counts non-overlapping occurrences and names their lines", () => {
    expect(failure(() => applyEdits("aa\naaa\nb\naa", [edit("aa", "c")], "/w/f"))).toBe(
      "INVALID_ARGUMENT: old_string occurs 3 times in /w/f (lines 1, 2, 4); include more of the surrounding text to make it unique, or set replace_all to replace every one.",
    );
  });

  it("says why a string is not found when only whitespace or line endings differ", () => {
    expect(failure(() => applyEdits("if x:\n    y()\n", [edit("if x:\n  y()", "z")], "/f"))).toMatch(
      /not found in \/f \(it is there with other whitespace or indentation\)/,
    );
    expect(failure(() => applyEdits("a\r\nb\r\n", [edit("a\nb", "c")], "/f"))).toMatch(
      /not found in \/f \(it is there with other line endings: the file uses CRLF\)/,
    );
    expect(failure(() => applyEdits("abc", [edit("zzz", "c")], "/f"))).toBe(
      "INVALID_ARGUMENT: old_string was not found in /f; copy it exactly from the file as it is now (fs_read), including whitespace.",
    );
  });

  it("refuses an empty old string and a replacement that changes nothing, naming the edit", () => {
    expect(failure(() => applyEdits("a", [edit("", "b")], "/f"))).toMatch(/old_string is empty/);
    expect(failure(() => applyEdits("a", [edit("a", "b"), edit("b", "b")], "/f"))).toMatch(
      /^INVALID_ARGUMENT: edits\[1\]: old_string and new_string are the same/,
    );
  });
});
