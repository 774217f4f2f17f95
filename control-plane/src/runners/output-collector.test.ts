import { describe, expect, it } from "vitest";
import { OutputCollector } from "./output-collector.js";

describe("OutputCollector", () => {
  it("keeps everything under the cap", () => {
    const collector = new OutputCollector(100);
    collector.add(Buffer.from("hello "));
    collector.add(Buffer.from("world"));
    expect(collector.text()).toBe("hello world");
    expect(collector.omittedBytes).toBe(0);
  });

  it("cuts the middle of long output with a marker and keeps both ends", () => {
    const collector = new OutputCollector(10);
    for (const part of ["01234", "56789", "abcde", "fghij"]) collector.add(Buffer.from(part));
    expect(collector.totalBytes).toBe(20);
    expect(collector.omittedBytes).toBe(10);
    expect(collector.text()).toBe("01234\n[… 10 bytes omitted …]\nfghij");
  });

  it("handles a single chunk larger than the cap", () => {
    const collector = new OutputCollector(4);
    collector.add(Buffer.from("abcdefgh"));
    expect(collector.text()).toBe("ab\n[… 4 bytes omitted …]\ngh");
  });
});
