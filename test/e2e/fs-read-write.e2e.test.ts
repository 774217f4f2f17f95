import { createHash } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, textOf } from "../support/mcp-client.js";
import { startTwoPrincipalRunner, type TwoPrincipalRunner } from "../support/runner-session.js";

const ETAG_MISMATCH_HINT =
  "The file changed (or was removed) since you read it: fs_read it again for its current content and etag, reapply your change to that content, and retry with the new etag as if_match.";
const CAP = 1024 * 1024;
/** A 1×1 PNG. */
const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

interface File {
  path: string;
  size: number;
  etag: string;
  mode: string;
  type: string;
}

describe("fs_read and fs_write through MCP", () => {
  let session: TwoPrincipalRunner;
  let asAlice: Client;
  let runner: string;

  const write = async (args: Record<string, unknown>) => callTool(asAlice, "fs_write", { runner, ...args });
  const read = async (args: Record<string, unknown>) => callTool(asAlice, "fs_read", { runner, ...args });
  const sh = async (command: string) =>
    (await callTool(asAlice, "exec", { runner, command })).structured.stdout as string;

  beforeAll(async () => {
    session = await startTwoPrincipalRunner("fs-rw");
    asAlice = session.asAlice;
    runner = session.runnerId;
  });

  afterAll(async () => {
    expect(await session?.close()).toBe(0);
  });

  it("writes text with a mode, and reads it back with the same etag and its media type", async () => {
    const written = await write({ path: "app/main.py", content: "print('hi')\n", mode: "755" });
    expect(written.result.isError).toBeFalsy();
    const file = written.structured.file as File;
    expect(file).toMatchObject({ path: "/work/app/main.py", name: "main.py", type: "file", size: 12, mode: "0755" });
    expect(file.etag).toMatch(/.+/);
    expect(textOf(written.result)).toBe(`Wrote 12 bytes to /work/app/main.py (mode 0755, etag ${file.etag}).`);

    const got = await read({ path: "/work/app/main.py" });
    expect(got.structured).toMatchObject({
      content: "print('hi')\n",
      encoding: "utf8",
      offset: 0,
      length: 12,
      eof: true,
      mime_type: "text/x-python",
    });
    expect((got.structured.file as File).etag).toBe(file.etag);
    expect(textOf(got.result)).toBe("print('hi')\n");
  });

  it("creates parents only when asked", async () => {
    const refused = await write({ path: "deep/er/x.txt", content: "x", create_parents: false });
    expect(textOf(refused.result)).toBe(
      'Error NOT_FOUND: Cannot write "/work/deep/er/x.txt": directory "/work/deep/er" does not exist; set create_parents to create it.\n' +
        "Check the path or name above: fs_list shows what a folder in the runner holds, runner_list shows your runners.",
    );
    const created = await write({ path: "deep/er/x.txt", content: "x" });
    expect((created.structured.file as File).path).toBe("/work/deep/er/x.txt");
  });

  it("reads ranges, and ranges of one version with if_match", async () => {
    const { structured } = await write({ path: "ranges.txt", content: "0123456789" });
    const etag = (structured.file as File).etag;
    const first = await read({ path: "ranges.txt", offset: 0, length: 4 });
    expect(first.structured).toMatchObject({ content: "0123", offset: 0, length: 4, eof: false });
    const rest = await read({
      path: "ranges.txt",
      offset: 4,
      length: 100,
      if_match: (first.structured.file as File).etag,
    });
    expect(rest.structured).toMatchObject({
      content: "456789",
      offset: 4,
      length: 6,
      eof: true,
      mime_type: "text/plain",
    });
    expect((rest.structured.file as File).etag).toBe(etag);

    const changed = await write({ path: "ranges.txt", content: "abcdefghij" });
    const current = (changed.structured.file as File).etag;
    const stale = await read({ path: "ranges.txt", offset: 4, if_match: etag });
    expect(stale.result.isError).toBe(true);
    expect(textOf(stale.result)).toBe(
      `Error ETAG_MISMATCH: Cannot read "/work/ranges.txt": if_match expected etag "${etag}" but the current etag is "${current}"; the file changed since you read it. ` +
        `Read it again for its current content and etag, reapply your change, and retry with the new etag.\n${ETAG_MISMATCH_HINT}`,
    );
  });

  it("writes with if_match: succeeds on the current etag, refuses a stale one and a removed file", async () => {
    const first = await write({ path: "edit/config.json", content: '{"v":1}\n' });
    const v1 = (first.structured.file as File).etag;
    const second = await write({ path: "edit/config.json", content: '{"v":2}\n', if_match: v1 });
    expect(second.result.isError).toBeFalsy();
    const v2 = (second.structured.file as File).etag;
    expect(v2).not.toBe(v1);

    const stale = await write({ path: "edit/config.json", content: '{"v":"lost"}\n', if_match: v1 });
    expect(stale.result.isError).toBe(true);
    expect(textOf(stale.result)).toBe(
      `Error ETAG_MISMATCH: Cannot write "/work/edit/config.json": if_match expected etag "${v1}" but the current etag is "${v2}"; the file changed since you read it. ` +
        `Read it again for its current content and etag, reapply your change, and retry with the new etag.\n${ETAG_MISMATCH_HINT}`,
    );
    expect((await read({ path: "edit/config.json" })).structured).toMatchObject({
      content: '{"v":2}\n',
      mime_type: "application/json",
    });

    await sh("rm /work/edit/config.json");
    const gone = await write({ path: "edit/config.json", content: "{}\n", if_match: v2 });
    expect(textOf(gone.result)).toBe(
      `Error ETAG_MISMATCH: Cannot write "/work/edit/config.json": if_match expected etag "${v2}" but the file no longer exists (current etag: none); ` +
        `it was removed or moved since you read it. Check where it went (stat or list), or write without if_match to create it.\n${ETAG_MISMATCH_HINT}`,
    );
    expect(await sh("test -e /work/edit/config.json; echo $?")).toBe("1\n");
  });

  it("keeps other failed preconditions apart from an etag mismatch", async () => {
    await sh("mkdir -p /work/adir");
    const stat = await callTool(asAlice, "fs_stat", { runner, path: "adir" });
    const dirEtag = (stat.structured.file as File).etag;
    const refused = await write({ path: "adir", content: "x", if_match: dirEtag });
    expect(textOf(refused.result)).toBe(
      'Error FAILED_PRECONDITION: Cannot write "/work/adir": it is a directory; write to a path inside it, or remove it first.\n' +
        "The target is not in the state this call needs; inspect it (fs_list) and adjust the call.",
    );
  });

  it("round-trips every byte value through base64", async () => {
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, index) => index % 256));
    const written = await write({ path: "bin/all-bytes.bin", content: bytes.toString("base64"), encoding: "base64" });
    expect((written.structured.file as File).size).toBe(512);
    expect(await sh("sha256sum < /work/bin/all-bytes.bin | cut -c1-16")).toBe(
      `${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}\n`,
    );
    const got = await read({ path: "bin/all-bytes.bin", encoding: "base64" });
    expect(got.structured).toMatchObject({
      encoding: "base64",
      length: 512,
      eof: true,
      mime_type: "application/octet-stream",
    });
    expect(Buffer.from(got.structured.content as string, "base64").equals(bytes)).toBe(true);
    expect(textOf(got.result)).toBe(
      `512 bytes of /work/bin/all-bytes.bin (application/octet-stream, base64):\n${bytes.toString("base64")}`,
    );
    const slice = await read({ path: "bin/all-bytes.bin", encoding: "base64", offset: 250, length: 10 });
    expect(Buffer.from(slice.structured.content as string, "base64").equals(bytes.subarray(250, 260))).toBe(true);
  });

  it("refuses content that is not base64", async () => {
    const bad = await write({ path: "bin/bad.bin", content: "not base64!", encoding: "base64" });
    expect(textOf(bad.result)).toBe(
      'Error INVALID_ARGUMENT: content is not valid base64; encode the bytes with standard base64, or use encoding "utf8" for text.\n' +
        "Correct the argument named above and call the tool again.",
    );
  });

  it("names media types from the name, else from the content, and warns when binary is read as text", async () => {
    await write({ path: "media/pixel", content: PNG_BASE64, encoding: "base64" });
    const png = await read({ path: "media/pixel", encoding: "base64" });
    expect(png.structured).toMatchObject({ mime_type: "image/png", content: PNG_BASE64 });
    const asText = await read({ path: "media/pixel" });
    expect(
      textOf(asText.result).startsWith(
        '[/work/media/pixel is image/png; read it with encoding "base64" to get its bytes intact]\n',
      ),
    ).toBe(true);

    const cases: [string, string, string][] = [
      ["media/run", "#!/usr/bin/env python3\nprint(1)\n", "text/x-python"],
      ["media/index.ts", "export {};\n", "text/x-typescript"],
      ["media/compose.yaml", "services: {}\n", "application/yaml"],
      ["media/Dockerfile", "FROM scratch\n", "text/x-dockerfile"],
      ["media/README", "plain words\n", "text/plain"],
    ];
    for (const [path, content, mime] of cases) {
      await write({ path, content });
      expect((await read({ path })).structured.mime_type, path).toBe(mime);
    }
  });

  it("caps a whole-file read with an error that says how to read in ranges", async () => {
    await sh(`head -c ${CAP + 1} /dev/zero | tr '\\0' 'a' > /work/big.txt`);
    const whole = await read({ path: "big.txt" });
    expect(whole.result.isError).toBe(true);
    expect(textOf(whole.result)).toBe(
      `Error RESOURCE_EXHAUSTED: File "/work/big.txt" is ${CAP + 1} bytes, more than the ${CAP}-byte read cap; read it in ranges with offset and length (at most ${CAP} each).\n` +
        "Ask for less at once (a smaller range or file), or free space in the runner.",
    );
    const head = await read({ path: "big.txt", length: CAP });
    expect(head.structured).toMatchObject({ length: CAP, eof: false });
    const tail = await read({ path: "big.txt", offset: 1 });
    expect(tail.structured).toMatchObject({ offset: 1, length: CAP, eof: true });
    const tooLong = await read({ path: "big.txt", length: CAP + 1 });
    expect(tooLong.result.isError).toBe(true);
    expect(textOf(tooLong.result)).toBe(
      `MCP error -32602: Input validation error: Invalid arguments for tool fs_read: Too big: expected number to be <=${CAP} at length`,
    );
  });
});
