import { describe, expect, it } from "vitest";
import { imageArchitecture } from "./plan-command.js";

describe("imageArchitecture", () => {
  it("names the engine's architecture as images do, and keeps image names as they are", () => {
    expect(["x86_64", "aarch64", "amd64", "arm64", "s390x"].map(imageArchitecture)).toEqual([
      "amd64",
      "arm64",
      "amd64",
      "arm64",
      "s390x",
    ]);
  });
});
