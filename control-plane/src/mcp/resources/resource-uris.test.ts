import { describe, expect, it } from "vitest";
import { fileUri, parseFileUri, parseRunnerUri, runnerUri } from "./resource-uris.js";

const R = "r-0123456789ab";

describe("resource URIs", () => {
  it("round-trips absolute paths through file URIs, percent-encoding each segment", () => {
    expect(fileUri(R, "/work/src/main.c")).toBe(`devhatchery://runners/${R}/files/work/src/main.c`);
    expect(fileUri(R, "/work/a b/ü#1?.txt")).toBe(`devhatchery://runners/${R}/files/work/a%20b/%C3%BC%231%3F.txt`);
    expect(fileUri(R, "/")).toBe(`devhatchery://runners/${R}/files/`);
    for (const path of ["/work/src/main.c", "/work/a b/ü#1?.txt", "/"])
      expect(parseFileUri(fileUri(R, path))).toEqual({ runnerId: R, path });
  });

  it("parses what clients send and refuses what is not a file URI", () => {
    expect(parseFileUri(`devhatchery://runners/${R}/files/work//x/`)).toEqual({ runnerId: R, path: "/work/x" });
    expect(parseFileUri(`devhatchery://runners/${R}/files`)).toEqual({ runnerId: R, path: "/" });
    expect(parseFileUri(`devhatchery://runners/${R}/files/bad%zz`)).toBeUndefined();
    expect(parseFileUri(`devhatchery://runners/${R}/execs/e1/output`)).toBeUndefined();
    expect(parseFileUri(`devhatchery://runners/${R}`)).toBeUndefined();
  });

  it("builds and parses runner URIs", () => {
    expect(runnerUri(R)).toBe(`devhatchery://runners/${R}`);
    expect(parseRunnerUri(`devhatchery://runners/${R}`)).toEqual({ runnerId: R });
    expect(parseRunnerUri(`devhatchery://runners/${R}/files/work`)).toBeUndefined();
    expect(parseRunnerUri("devhatchery://workspaces/x")).toBeUndefined();
  });
});
