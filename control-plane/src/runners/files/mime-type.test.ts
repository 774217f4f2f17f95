import { describe, expect, it } from "vitest";
import { detectMimeType, isTextMimeType } from "./mime-type.js";

const PNG_HEADER = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe("detectMimeType", () => {
  it.each([
    ["main.py", "text/x-python"],
    ["/work/src/App.TSX", "text/tsx"],
    ["index.ts", "text/x-typescript"],
    ["package.json", "application/json"],
    ["compose.yaml", "application/yaml"],
    ["logo.png", "image/png"],
    ["photo.JPEG", "image/jpeg"],
    ["report.pdf", "application/pdf"],
    ["archive.tar.gz", "application/gzip"],
    ["Dockerfile", "text/x-dockerfile"],
    ["Makefile", "text/x-makefile"],
    [".gitignore", "text/plain"],
    ["notes.md", "text/markdown"],
  ])("knows %s by its name as %s", (name, mime) => {
    expect(detectMimeType(name, Buffer.from([0, 1, 2]))).toBe(mime);
  });

  it.each([
    ["a PNG", PNG_HEADER, "image/png"],
    ["a gzip stream", Buffer.from([0x1f, 0x8b, 8, 0]), "application/gzip"],
    ["an ELF binary", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), "application/x-executable"],
    ["a PDF", Buffer.from("%PDF-1.7\n"), "application/pdf"],
    ["a WebP image", Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WEBPVP8 ")]), "image/webp"],
    ["a tar archive", Buffer.concat([Buffer.alloc(257), Buffer.from("ustar\0")]), "application/x-tar"],
    ["a python script", Buffer.from("#!/usr/bin/env python3\nprint(1)\n"), "text/x-python"],
    ["a node script", Buffer.from("#!/usr/bin/node\nconsole.log(1)\n"), "text/javascript"],
    ["a shell script", Buffer.from("#! /bin/bash -e\necho hi\n"), "text/x-shellscript"],
    ["another script", Buffer.from("#!/usr/bin/awk -f\n"), "text/plain"],
    ["UTF-8 text", Buffer.from("héllo wörld ✓\n"), "text/plain"],
    ["an empty file", Buffer.alloc(0), "text/plain"],
    ["bytes with a NUL", Buffer.from("abc\0def"), "application/octet-stream"],
    ["invalid UTF-8", Buffer.from([0x61, 0xc3, 0x28, 0x62]), "application/octet-stream"],
    ["mostly control bytes", Buffer.from([1, 2, 3, 4, 5, 6, 0x61]), "application/octet-stream"],
  ])("sniffs %s without a telling name", (_what, sample, mime) => {
    expect(detectMimeType("/work/data", sample)).toBe(mime);
  });

  it("tolerates a character cut at the end of the sample", () => {
    const text = Buffer.from("naïve ✓");
    expect(detectMimeType("LICENSE", text.subarray(0, text.length - 1))).toBe("text/plain");
  });

  it("tolerates a character cut at the start of a sample from the middle, and ignores signatures there", () => {
    expect(detectMimeType("LICENSE", Buffer.from("✓ done").subarray(1), 100)).toBe("text/plain");
    expect(detectMimeType("blob", PNG_HEADER, 100)).toBe("application/octet-stream");
  });

  it("says application/octet-stream without a sample or a telling name", () => {
    expect(detectMimeType("/work/data")).toBe("application/octet-stream");
    expect(detectMimeType("/work/data.py")).toBe("text/x-python");
  });
});

describe("isTextMimeType", () => {
  it.each([
    ["text/x-python", true],
    ["application/json", true],
    ["image/svg+xml", true],
    ["application/yaml", true],
    ["image/png", false],
    ["application/octet-stream", false],
    ["application/gzip", false],
  ])("%s → %s", (mime, text) => {
    expect(isTextMimeType(mime)).toBe(text);
  });
});
