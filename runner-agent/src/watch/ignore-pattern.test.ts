import { describe, expect, it } from "vitest";
import { compileIgnorePattern, parseIgnoreFile } from "./ignore-pattern.js";

/** [pattern, path relative to the pattern's directory, is a directory, matches] */
const CASES: [string, string, boolean, boolean][] = [
  ["*.log", "debug.log", false, true],
  ["*.log", "deep/dir/debug.log", false, true],
  ["*.log", "debug.log.txt", false, false],
  ["build/", "build", true, true],
  ["build/", "build", false, false],
  ["build/", "src/build", true, true],
  ["/build", "build", false, true],
  ["/build", "src/build", false, false],
  ["doc/frotz", "doc/frotz", true, true],
  ["doc/frotz", "a/doc/frotz", true, false],
  ["**/foo", "foo", false, true],
  ["**/foo", "a/b/foo", false, true],
  ["**/foo/bar", "x/foo/bar", false, true],
  ["abc/**", "abc/x", false, true],
  ["abc/**", "abc/x/y", true, true],
  ["abc/**", "abc", true, false],
  ["a/**/b", "a/b", false, true],
  ["a/**/b", "a/x/y/b", false, true],
  ["a/**/b", "xa/b", false, false],
  ["fo?.txt", "foo.txt", false, true],
  ["fo?.txt", "fo/.txt", false, false],
  ["*.[oa]", "lib.a", false, true],
  ["*.[!oa]", "lib.a", false, false],
  ["*.[!oa]", "lib.c", false, true],
  ["\\#notes", "#notes", false, true],
  ["\\!important", "!important", false, true],
  ["trailing\\ ", "trailing ", false, true],
  ["trailing   ", "trailing", false, true],
  ["a.b", "axb", false, false],
  ["name", "dir/name", true, true],
];

describe("compileIgnorePattern (.gitignore syntax)", () => {
  it.each(CASES)("%s against %s (directory: %s) → %s", (pattern, path, isDirectory, expected) => {
    expect(compileIgnorePattern(pattern)?.matches(path, isDirectory)).toBe(expected);
  });

  it("marks negations and skips blank lines and comments", () => {
    expect(compileIgnorePattern("!keep.log")).toMatchObject({ negated: true });
    expect(compileIgnorePattern("!keep.log")?.matches("keep.log", false)).toBe(true);
    expect(compileIgnorePattern("")).toBeUndefined();
    expect(compileIgnorePattern("   ")).toBeUndefined();
    expect(compileIgnorePattern("# comment")).toBeUndefined();
    expect(compileIgnorePattern("/")).toBeUndefined();
  });

  it("parses a whole file, CRLF line ends included", () => {
    expect(
      parseIgnoreFile("# deps\r\nnode_modules/\r\n\r\n*.log\n!keep.log\n").map((pattern) => pattern.source),
    ).toEqual(["node_modules/", "*.log", "!keep.log"]);
  });
});
