import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { readStdinToken } from "./stdin-token.js";

describe("readStdinToken", () => {
  it("takes the first line, however it is split, and closes stdin", async () => {
    const input = new PassThrough();
    const token = readStdinToken(input);
    input.write("abc");
    input.write("def\nignored");
    expect(await token).toBe("abcdef");
    expect(input.destroyed).toBe(true);
  });

  it("fails with the way out when stdin ends before a line, and when a line never comes", async () => {
    const ended = new PassThrough();
    const early = readStdinToken(ended);
    ended.end("partial");
    await expect(early).rejects.toThrow(
      "DEVHATCHERY_AGENT_TOKEN is not set and stdin ended before a token line: start the runner through the control plane",
    );
    await expect(readStdinToken(new PassThrough(), 10)).rejects.toThrow("no token line arrived on stdin within 0.01 s");
  });

  it("stops reading a line longer than any token", async () => {
    const input = new PassThrough();
    const token = readStdinToken(input);
    input.write("x".repeat(2000));
    await expect(token).rejects.toThrow("longer than 1024 bytes without a newline");
  });
});
