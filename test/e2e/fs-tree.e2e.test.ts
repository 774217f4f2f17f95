import { posix } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, textOf } from "../support/mcp-client.js";
import { startTwoPrincipalRunner, type TwoPrincipalRunner } from "../support/runner-session.js";

const HINT = {
  NOT_FOUND:
    "Check the path or name above: fs_list shows what a folder in the runner holds, runner_list shows your runners.",
  ALREADY_EXISTS: "Choose another name or remove the existing one first.",
  /** A runner not found gets its own hint, written where it is raised. */
  RUNNER_NOT_FOUND:
    "runner_list shows your runners (id, alias and workspace_key each work as `runner`); runner_attach brings back a workspace from volume_list, runner_spawn starts a new runner.",
  FAILED_PRECONDITION: "The target is not in the state this call needs; inspect it (fs_list) and adjust the call.",
};

interface Entry {
  name: string;
  path: string;
  type: string;
  size: number;
  mode: string;
  etag: string;
  modified_at: string;
  link_target?: string;
}

const FS_ANNOTATIONS = {
  fs_read: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  fs_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  fs_stat: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  fs_write: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  fs_mkdir: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  fs_move: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  fs_remove: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

describe("fs_list, fs_stat, fs_mkdir, fs_move and fs_remove through MCP", () => {
  let session: TwoPrincipalRunner;
  let asAlice: Client;
  let runner: string;

  const tool = async (name: string, args: Record<string, unknown>) => callTool(asAlice, name, { runner, ...args });
  const sh = async (command: string) =>
    (await callTool(asAlice, "exec", { runner, command })).structured.stdout as string;
  const exists = async (path: string) => (await sh(`test -e ${path} && echo yes || echo no`)).trim() === "yes";

  beforeAll(async () => {
    session = await startTwoPrincipalRunner("fs-tree");
    asAlice = session.asAlice;
    runner = session.runnerId;
    await sh(
      "mkdir -p /work/tree/b/d && printf A > /work/tree/a.txt && printf C > /work/tree/b/c.txt && printf E > /work/tree/b/d/e.txt && ln -s a.txt /work/tree/link",
    );
  });

  afterAll(async () => {
    expect(await session?.close()).toBe(0);
  });

  it("offers every file tool with an output schema and truthful annotations", async () => {
    const { tools } = await asAlice.listTools();
    for (const [name, annotations] of Object.entries(FS_ANNOTATIONS)) {
      const found = tools.find((candidate) => candidate.name === name);
      expect(found?.annotations, name).toEqual(annotations);
      expect(found?.outputSchema?.type, name).toBe("object");
      expect(found?.description?.length, name).toBeGreaterThan(80);
    }
  });

  it("lists a directory's own entries by default, deeper levels breadth first with depth, and symlinks as links", async () => {
    const names = (structured: Record<string, unknown>) =>
      (structured.entries as Entry[]).map((entry) => posix.relative("/work/tree", entry.path));
    const one = await tool("fs_list", { path: "tree" });
    expect(one.structured).toMatchObject({ path: "/work/tree", truncated: false });
    expect(names(one.structured)).toEqual(["a.txt", "b", "link"]);
    expect((one.structured.entries as Entry[])[2]).toMatchObject({ type: "symlink", link_target: "a.txt" });
    expect((one.structured.entries as Entry[])[0]).not.toHaveProperty("link_target");

    const three = await tool("fs_list", { path: "/work/tree", depth: 3 });
    expect(names(three.structured)).toEqual(["a.txt", "b", "link", "b/c.txt", "b/d", "b/d/e.txt"]);
    const lines = textOf(three.result).split("\n");
    expect(lines[0]).toBe("/work/tree (6 entries)");
    expect(lines.slice(1).map((line) => line.replace(/^(\S) \d{4,5} +\d+ /, "$1 "))).toEqual([
      "- a.txt",
      "d b/",
      "l link -> a.txt",
      "- b/c.txt",
      "d b/d/",
      "- b/d/e.txt",
    ]);

    const capped = await tool("fs_list", { path: "tree", depth: 3, limit: 4 });
    expect(capped.structured.truncated).toBe(true);
    expect(names(capped.structured)).toEqual(["a.txt", "b", "link", "b/c.txt"]);
    expect(textOf(capped.result).split("\n")[0]).toBe("/work/tree (4 entries, truncated)");
  });

  it("refuses to list a file, saying what to do instead", async () => {
    const file = await tool("fs_list", { path: "tree/a.txt" });
    expect(textOf(file.result)).toBe(
      `Error FAILED_PRECONDITION: Cannot list "/work/tree/a.txt": it is not a directory; read or stat it instead.\n${HINT.FAILED_PRECONDITION}`,
    );
  });

  it("describes files, symlinks and directories with fs_stat", async () => {
    const file = await tool("fs_stat", { path: "tree/a.txt" });
    const entry = file.structured.file as Entry;
    expect(file.structured).toMatchObject({
      mime_type: "text/plain",
      file: { path: "/work/tree/a.txt", name: "a.txt", type: "file", size: 1, mode: "0644" },
    });
    expect(textOf(file.result)).toBe(
      `/work/tree/a.txt: file (text/plain), 1 bytes, mode 0644, modified ${entry.modified_at}, etag ${entry.etag}`,
    );
    const read = await tool("fs_read", { path: "tree/a.txt" });
    expect((read.structured.file as Entry).etag).toBe(entry.etag);

    const link = await tool("fs_stat", { path: "tree/link" });
    expect(link.structured).toMatchObject({
      mime_type: "text/plain",
      file: { path: "/work/tree/link", type: "file", size: 1, link_target: "a.txt", etag: entry.etag },
    });
    expect(textOf(link.result).startsWith("/work/tree/link -> a.txt: file (text/plain), 1 bytes")).toBe(true);

    const directory = await tool("fs_stat", { path: "tree/b" });
    expect(directory.structured).toMatchObject({ mime_type: null, file: { type: "directory", mode: "0755" } });

    await tool("fs_write", {
      path: "tree/shot",
      content: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      encoding: "base64",
    });
    expect((await tool("fs_stat", { path: "tree/shot" })).structured.mime_type).toBe("image/png");
    await tool("fs_remove", { path: "tree/shot" });

    const missing = await tool("fs_stat", { path: "tree/nope" });
    expect(textOf(missing.result)).toBe(
      `Error NOT_FOUND: Cannot stat "/work/tree/nope": no such file or directory\n${HINT.NOT_FOUND}`,
    );
  });

  it("creates directories with parents by default, with a mode, and refuses without parents", async () => {
    const made = await tool("fs_mkdir", { path: "mk/x/y" });
    expect(made.structured.directory).toMatchObject({ path: "/work/mk/x/y", type: "directory", mode: "0755" });
    expect(textOf(made.result)).toBe("Directory /work/mk/x/y exists (mode 0755).");
    expect((await tool("fs_mkdir", { path: "mk/x/y" })).result.isError).toBeFalsy();
    expect((await tool("fs_mkdir", { path: "/work/mk/private", mode: "0700" })).structured.directory).toMatchObject({
      mode: "0700",
    });

    const noParent = await tool("fs_mkdir", { path: "mk/missing/z", parents: false });
    expect(textOf(noParent.result)).toBe(
      `Error NOT_FOUND: Cannot create directory "/work/mk/missing/z": its parent "/work/mk/missing" does not exist; set parents to create it.\n${HINT.NOT_FOUND}`,
    );
    const existing = await tool("fs_mkdir", { path: "mk/x", parents: false });
    expect(textOf(existing.result)).toBe(
      `Error ALREADY_EXISTS: Cannot create directory "/work/mk/x": it already exists; set parents to accept an existing directory.\n${HINT.ALREADY_EXISTS}`,
    );
    const badMode = await tool("fs_mkdir", { path: "mk/q", mode: "rwx" });
    expect(badMode.result.isError).toBe(true);
    expect(textOf(badMode.result)).toBe(
      'MCP error -32602: Input validation error: Invalid arguments for tool fs_mkdir: mode must be octal permission bits such as "0644" or "755" at mode',
    );
  });

  it("moves without replacing an existing destination unless overwrite is set", async () => {
    await tool("fs_write", { path: "mv/src.txt", content: "new" });
    await tool("fs_write", { path: "mv/dst.txt", content: "old" });
    const refused = await tool("fs_move", { source: "mv/src.txt", destination: "mv/dst.txt" });
    expect(textOf(refused.result)).toBe(
      `Error ALREADY_EXISTS: Cannot move "/work/mv/src.txt" to "/work/mv/dst.txt": the destination already exists; set overwrite to replace it, or choose another destination.\n${HINT.ALREADY_EXISTS}`,
    );
    expect((await tool("fs_read", { path: "mv/dst.txt" })).structured.content).toBe("old");

    const moved = await tool("fs_move", { source: "mv/src.txt", destination: "/work/mv/dst.txt", overwrite: true });
    expect(moved.structured.file).toMatchObject({ path: "/work/mv/dst.txt", type: "file", size: 3 });
    expect(textOf(moved.result)).toBe("Moved mv/src.txt to /work/mv/dst.txt.");
    expect((await tool("fs_read", { path: "mv/dst.txt" })).structured.content).toBe("new");
    expect(await exists("/work/mv/src.txt")).toBe(false);
  });

  it("creates the destination's parents only when asked, and moves directories", async () => {
    const noParent = await tool("fs_move", { source: "mv/dst.txt", destination: "mv/sub/deeper/final.txt" });
    expect(textOf(noParent.result)).toBe(
      `Error NOT_FOUND: Cannot move "/work/mv/dst.txt" to "/work/mv/sub/deeper/final.txt": directory "/work/mv/sub/deeper" does not exist; set create_parents to create it.\n${HINT.NOT_FOUND}`,
    );
    const moved = await tool("fs_move", {
      source: "mv/dst.txt",
      destination: "mv/sub/deeper/final.txt",
      create_parents: true,
    });
    expect(moved.structured.file).toMatchObject({ path: "/work/mv/sub/deeper/final.txt", size: 3 });

    const directory = await tool("fs_move", { source: "mv/sub", destination: "mv/renamed" });
    expect(directory.structured.file).toMatchObject({ path: "/work/mv/renamed", type: "directory" });
    expect((await tool("fs_read", { path: "mv/renamed/deeper/final.txt" })).structured.content).toBe("new");
  });

  it("removes files, symlinks and empty directories, and a non-empty directory only when recursive", async () => {
    const refused = await tool("fs_remove", { path: "mv/renamed" });
    expect(textOf(refused.result)).toBe(
      `Error FAILED_PRECONDITION: Cannot remove "/work/mv/renamed": the directory is not empty; set recursive to remove it with everything in it, or remove its entries first.\n${HINT.FAILED_PRECONDITION}`,
    );
    expect(await exists("/work/mv/renamed/deeper/final.txt")).toBe(true);

    const recursive = await tool("fs_remove", { path: "mv/renamed", recursive: true });
    expect(recursive.structured.removed).toMatchObject({ path: "/work/mv/renamed", type: "directory" });
    expect(textOf(recursive.result)).toBe("Removed directory /work/mv/renamed.");
    expect(await exists("/work/mv/renamed")).toBe(false);

    const link = await tool("fs_remove", { path: "tree/link" });
    expect(link.structured.removed).toMatchObject({ path: "/work/tree/link", type: "symlink", link_target: "a.txt" });
    expect(await exists("/work/tree/a.txt")).toBe(true);

    expect((await tool("fs_remove", { path: "tree/b/d/e.txt" })).structured.removed).toMatchObject({
      type: "file",
      size: 1,
    });
    expect((await tool("fs_remove", { path: "tree/b/d" })).structured.removed).toMatchObject({ type: "directory" });

    const missing = await tool("fs_remove", { path: "tree/b/d" });
    expect(textOf(missing.result)).toBe(
      `Error NOT_FOUND: Cannot remove "/work/tree/b/d": no such file or directory\n${HINT.NOT_FOUND}`,
    );
  });

  it("gives bob none of the file tools on alice's runner", async () => {
    const notFound = `Error NOT_FOUND: Runner "${runner}" not found for this principal; spawn one with runner_spawn.\n${HINT.RUNNER_NOT_FOUND}`;
    const calls: [string, Record<string, unknown>][] = [
      ["fs_read", { path: "tree/a.txt" }],
      ["fs_write", { path: "tree/a.txt", content: "bob" }],
      ["fs_list", { path: "tree" }],
      ["fs_stat", { path: "tree/a.txt" }],
      ["fs_mkdir", { path: "tree/bob" }],
      ["fs_move", { source: "tree/a.txt", destination: "tree/bob.txt", overwrite: true }],
      ["fs_remove", { path: "tree", recursive: true }],
    ];
    for (const [name, args] of calls) {
      const { result } = await callTool(session.asBob, name, { runner, ...args });
      expect(result.isError, name).toBe(true);
      expect(textOf(result), name).toBe(notFound);
    }
    expect((await tool("fs_read", { path: "tree/a.txt" })).structured.content).toBe("A");
    expect(await exists("/work/tree/bob")).toBe(false);
    expect(await exists("/work/tree/bob.txt")).toBe(false);
  });
});
