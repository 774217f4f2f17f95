import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors.js";
import { resolveRunnerPath } from "./runner-path.js";

describe("resolveRunnerPath", () => {
  it.each([
    ["notes.txt", "/work/notes.txt"],
    ["./src/../README.md", "/work/README.md"],
    [".", "/work"],
    ["/etc/hosts", "/etc/hosts"],
    ["/work/a/", "/work/a"],
    ["../tmp/x", "/tmp/x"],
  ])("resolves %j to %j", (path, expected) => {
    expect(resolveRunnerPath(path)).toBe(expected);
  });

  it("refuses a NUL byte, naming the path", () => {
    const error = (() => {
      try {
        return resolveRunnerPath("a\0b");
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect(error).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: 'Path "a\\0b" contains a NUL byte; remove it from the path.',
    });
  });
});
