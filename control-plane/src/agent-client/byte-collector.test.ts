import { describe, expect, it } from "vitest";
import { ByteCollector } from "./byte-collector.js";

function collect(expected: number | undefined, chunks: string[]): string {
  const collector = new ByteCollector();
  if (expected !== undefined) collector.expect(expected);
  for (const chunk of chunks) collector.push(Buffer.from(chunk));
  return collector.result().toString();
}

describe("ByteCollector", () => {
  it("fills a buffer of the expected size", () => {
    expect(collect(6, ["abc", "def"])).toBe("abcdef");
  });

  it("returns only what arrived when fewer bytes come than expected (the file shrank)", () => {
    expect(collect(10, ["abc"])).toBe("abc");
  });

  it("keeps every byte, in order, when more come than expected (the file grew)", () => {
    expect(collect(4, ["abc", "def", "g"])).toBe("abcdefg");
  });

  it("works without an expected size, and for nothing at all", () => {
    expect(collect(undefined, ["ab", "cd"])).toBe("abcd");
    expect(collect(0, [])).toBe("");
    expect(collect(undefined, [])).toBe("");
  });

  it("does not allocate a huge expected size up front", () => {
    const collector = new ByteCollector();
    const before = process.memoryUsage().arrayBuffers;
    collector.expect(2 * 1024 ** 3);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 ** 2);
    collector.push(Buffer.from("abc"));
    expect(collector.result().toString()).toBe("abc");
  });
});
