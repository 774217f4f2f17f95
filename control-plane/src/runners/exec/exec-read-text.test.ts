import { describe, expect, it } from "vitest";
import { toExecReadText, tornUtf8TailLength } from "./exec-read-text.js";

const chunk = (stream: "stdout" | "stderr", data: Buffer | string, cursor: number) => ({
  stream,
  data: Buffer.from(data),
  cursor,
});

describe("toExecReadText", () => {
  it("splits chunks into stdout and stderr in log order", () => {
    const text = toExecReadText(
      [chunk("stdout", "a\n", 0), chunk("stderr", "warn\n", 2), chunk("stdout", "b\n", 7)],
      9,
      false,
    );
    expect(text).toEqual({ stdout: "a\nb\n", stderr: "warn\n", nextCursor: 9 });
  });

  it("leaves a character torn at the end of a read for the next read", () => {
    const euro = Buffer.from("€"); // 3 bytes
    const text = toExecReadText(
      [chunk("stdout", Buffer.concat([Buffer.from("x="), euro.subarray(0, 2)]), 10)],
      14,
      false,
    );
    expect(text).toEqual({ stdout: "x=", stderr: "", nextCursor: 12 });
    const next = toExecReadText([chunk("stdout", Buffer.concat([euro, Buffer.from("\n")]), 12)], 16, false);
    expect(next.stdout).toBe("€\n");
  });

  it("keeps torn bytes at the end of output that has ended (they will never complete)", () => {
    const text = toExecReadText([chunk("stdout", Buffer.from([0x41, 0xe2, 0x82]), 0)], 3, true);
    expect(text.nextCursor).toBe(3);
    expect(text.stdout).toBe("A\uFFFD");
  });

  it("never returns an empty read because of a torn character", () => {
    const text = toExecReadText([chunk("stdout", Buffer.from([0xe2, 0x82]), 0)], 2, false);
    expect(text.nextCursor).toBe(2);
  });
});

describe("tornUtf8TailLength", () => {
  it.each([
    ["ascii", Buffer.from("abc"), 0],
    ["a complete 3-byte character", Buffer.from("a€"), 0],
    ["1 of 3 bytes", Buffer.from([0x61, 0xe2]), 1],
    ["2 of 3 bytes", Buffer.from([0x61, 0xe2, 0x82]), 2],
    ["3 of 4 bytes", Buffer.from([0xf0, 0x9f, 0x98]), 3],
    ["a complete 4-byte character", Buffer.from("😀"), 0],
    ["empty", Buffer.alloc(0), 0],
  ])("%s", (_name, data, expected) => {
    expect(tornUtf8TailLength(data)).toBe(expected);
  });
});
