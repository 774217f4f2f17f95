import { describe, expect, it } from "vitest";
import { ExecOutputExcerpt } from "./exec-output-excerpt.js";

describe("ExecOutputExcerpt", () => {
  it("keeps everything under the cap, per stream", () => {
    const excerpt = new ExecOutputExcerpt(100);
    excerpt.add({ stream: "stdout", data: Buffer.from("hello "), cursor: 0 });
    excerpt.add({ stream: "stderr", data: Buffer.from("oops\n"), cursor: 6 });
    excerpt.add({ stream: "stdout", data: Buffer.from("world"), cursor: 11 });
    expect(excerpt.text("stdout")).toBe("hello world");
    expect(excerpt.text("stderr")).toBe("oops\n");
    expect(excerpt.omittedBytes).toBe(0);
  });

  it("cuts the middle with a marker naming the exec_read cursor where the omitted bytes start", () => {
    const excerpt = new ExecOutputExcerpt(10);
    let cursor = 0;
    for (const [stream, part] of [
      ["stdout", "01234"],
      ["stderr", "E"],
      ["stdout", "56789"],
      ["stdout", "abcde"],
      ["stdout", "fghij"],
    ] as const) {
      excerpt.add({ stream, data: Buffer.from(part), cursor });
      cursor += part.length;
    }
    expect(excerpt.omittedBytes).toBe(10);
    // The head ends after "01234" (cursor 5); cursor 5 is "E", then "56789…": reading from 5 returns every omitted byte.
    expect(excerpt.text("stdout")).toBe(
      "01234\n[… 10 bytes of stdout omitted; read them with exec_read cursor=5 …]\nfghij",
    );
    expect(excerpt.text("stderr")).toBe("E");
  });

  it("splits a single chunk larger than the cap into head, marker and tail", () => {
    const excerpt = new ExecOutputExcerpt(4);
    excerpt.add({ stream: "stdout", data: Buffer.from("abcdefgh"), cursor: 100 });
    expect(excerpt.text("stdout")).toBe("ab\n[… 4 bytes of stdout omitted; read them with exec_read cursor=102 …]\ngh");
  });
});
