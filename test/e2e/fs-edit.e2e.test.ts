import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, textOf } from "../support/mcp-client.js";
import { startTwoPrincipalRunner, type TwoPrincipalRunner } from "../support/runner-session.js";

interface File {
  path: string;
  etag: string;
  mode: string;
  size: number;
}

const SOURCE = [
  "def greet(name):",
  '    return "hello " + name',
  "",
  "def main():",
  '    print(greet("world"))',
  "",
].join("\n");

/** fs_edit through a real MCP client: exact-string replacement under an etag, all or nothing, with a unified diff. */
describe("fs_edit through MCP", () => {
  let session: TwoPrincipalRunner;
  let asAlice: Client;
  let runner: string;

  const edit = async (args: Record<string, unknown>) => callTool(asAlice, "fs_edit", { runner, ...args });
  const content = async (path: string) =>
    (await callTool(asAlice, "fs_read", { runner, path })).structured.content as string;
  const put = async (path: string, text: string, mode?: string) =>
    (await callTool(asAlice, "fs_write", { runner, path, content: text, ...(mode ? { mode } : {}) })).structured
      .file as File;

  beforeAll(async () => {
    session = await startTwoPrincipalRunner("fs-edit");
    asAlice = session.asAlice;
    runner = session.runnerId;
  });

  afterAll(async () => {
    expect(await session?.close()).toBe(0);
  });

  it("replaces a unique string, keeps the mode, and returns the new etag and a unified diff", async () => {
    const before = await put("app/greet.py", SOURCE, "755");
    const { result, structured } = await edit({
      path: "app/greet.py",
      old_string: '    return "hello " + name',
      new_string: '    return f"hello {name}!"',
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    const file = structured.file as File;
    expect(structured).toMatchObject({ previous_etag: before.etag, replacements: 1, diff_truncated: false });
    expect(file).toMatchObject({ path: "/work/app/greet.py", mode: "0755" });
    expect(file.etag).not.toBe(before.etag);
    expect(structured.diff).toContain("--- /work/app/greet.py");
    expect(structured.diff).toContain('-    return "hello " + name\n+    return f"hello {name}!"');
    expect(structured.diff).toMatch(/^@@ -1,5 \+1,5 @@$/m);
    expect(await content("app/greet.py")).toBe(SOURCE.replace('"hello " + name', 'f"hello {name}!"'));
  });

  it("refuses an ambiguous, a missing or a no-op replacement with where and why, writing nothing", async () => {
    await put("app/dup.txt", "x = 1\ny = 2\nx = 1\n");
    const ambiguous = await edit({ path: "app/dup.txt", old_string: "x = 1", new_string: "x = 3" });
    expect(textOf(ambiguous.result)).toMatch(
      /^Error INVALID_ARGUMENT: old_string occurs 2 times in \/work\/app\/dup.txt \(lines 1, 3\); include more of the surrounding text/,
    );
    const indented = await edit({ path: "app/dup.txt", old_string: "y  =  2", new_string: "y = 4" });
    expect(textOf(indented.result)).toMatch(
      /was not found in \/work\/app\/dup.txt \(it is there with other whitespace/,
    );
    const same = await edit({ path: "app/dup.txt", old_string: "y = 2", new_string: "y = 2" });
    expect(textOf(same.result)).toMatch(/old_string and new_string are the same/);
    // All or nothing: the second edit fails, so the first is not written either.
    const partial = await edit({
      path: "app/dup.txt",
      edits: [
        { old_string: "y = 2", new_string: "y = 5" },
        { old_string: "z = 9", new_string: "z = 0" },
      ],
    });
    expect(textOf(partial.result)).toMatch(/^Error INVALID_ARGUMENT: edits\[1\]: old_string was not found/);
    expect(await content("app/dup.txt")).toBe("x = 1\ny = 2\nx = 1\n");
    const both = await edit({
      path: "app/dup.txt",
      old_string: "a",
      new_string: "b",
      edits: [{ old_string: "a", new_string: "b" }],
    });
    expect(textOf(both.result)).toMatch(/either old_string and new_string, or edits, not both/);
    const missing = await edit({ path: "app/nothing-here.txt", old_string: "a", new_string: "b" });
    expect(textOf(missing.result)).toMatch(/^Error NOT_FOUND/);
  });

  it("replaces every occurrence with replace_all, and several edits in order", async () => {
    await put("app/all.txt", "x = 1\ny = 2\nx = 1\n");
    const all = await edit({ path: "app/all.txt", old_string: "x = 1", new_string: "x = 3", replace_all: true });
    expect(all.structured).toMatchObject({ replacements: 2 });
    const several = await edit({
      path: "app/all.txt",
      edits: [
        { old_string: "y = 2", new_string: "y = 4" },
        { old_string: "y = 4\nx", new_string: "y = 4\n# then\nx" },
      ],
    });
    expect(several.structured).toMatchObject({ replacements: 2 });
    expect(await content("app/all.txt")).toBe("x = 3\ny = 4\n# then\nx = 3\n");
  });

  it("edits only the version named by if_match, and refuses binary files", async () => {
    const first = await put("app/etag.txt", "version one\n");
    await put("app/etag.txt", "version two\n");
    const stale = await edit({ path: "app/etag.txt", old_string: "two", new_string: "three", if_match: first.etag });
    expect(textOf(stale.result)).toMatch(/^Error ETAG_MISMATCH/);
    expect(await content("app/etag.txt")).toBe("version two\n");
    const binary = await callTool(asAlice, "fs_write", {
      runner,
      path: "app/blob.bin",
      content: Buffer.from([0, 1, 2, 0xff]).toString("base64"),
      encoding: "base64",
    });
    expect(binary.result.isError).toBeFalsy();
    const refused = await edit({ path: "app/blob.bin", old_string: "\u0001", new_string: "x" });
    expect(textOf(refused.result)).toMatch(/is not UTF-8 text; fs_edit changes text files/);
  });

  it("is refused for another principal's runner", async () => {
    const foreign = await callTool(session.asBob, "fs_edit", {
      runner,
      path: "app/greet.py",
      old_string: "def",
      new_string: "fn",
    });
    expect(textOf(foreign.result)).toMatch(/^Error NOT_FOUND/);
  });
});
