import { describe, expect, it } from "vitest";
import { listingFoldersFor, parseRoot, resolveAgainstRoots, rootFoldersFor } from "./root-folders.js";

const A = "r-aaaaaaaaaaaa";
const B = "r-bbbbbbbbbbbb";

describe("client roots → folders inside runners", () => {
  it.each([
    [`devhatchery://runners/${A}/files/work/app`, { kind: "runner-folder", runnerId: A, path: "/work/app" }],
    [`devhatchery://runners/${A}/files/srv/my%20data/`, { kind: "runner-folder", runnerId: A, path: "/srv/my data" }],
    ["file:///work/lib", { kind: "folder", path: "/work/lib" }],
    ["file:///work", { kind: "folder", path: "/work" }],
    ["devhatchery://workspaces/shop-api", { kind: "workspace", workspaceKey: "shop-api" }],
    ["file:///home/me/project", { kind: "other" }],
    ["file:///workshop", { kind: "other" }],
    ["https://example.com/", { kind: "other" }],
  ])("reads %s", (uri, target) => {
    expect(parseRoot(uri)).toEqual(target);
  });

  const roots = [
    { uri: "file:///home/me/project" },
    { uri: `devhatchery://runners/${B}/files/work/b` },
    { uri: "file:///work/shared" },
    { uri: `devhatchery://runners/${A}/files/work/a` },
    { uri: "devhatchery://workspaces/shop-api" },
  ];

  it("keeps the roots' order and picks those of the runner and those of every runner", () => {
    expect(rootFoldersFor(roots, A)).toEqual(["/work/shared", "/work/a"]);
    expect(rootFoldersFor(roots, B)).toEqual(["/work/b", "/work/shared"]);
  });

  it("resolves relative paths against the first matching root, else /work; absolute paths stay", () => {
    expect(resolveAgainstRoots(roots, A, "src/main.c")).toBe("/work/shared/src/main.c");
    expect(resolveAgainstRoots(roots, B, "../x")).toBe("/work/x");
    expect(resolveAgainstRoots([{ uri: "file:///home/me/project" }], A, "src")).toBe("/work/src");
    expect(resolveAgainstRoots([], A, ".")).toBe("/work");
    expect(resolveAgainstRoots(roots, A, "/etc//hosts")).toBe("/etc/hosts");
  });

  it("lists /work when no root names a runner folder, and only the roots' folders otherwise", () => {
    expect(listingFoldersFor([], A)).toEqual(["/work"]);
    expect(listingFoldersFor([{ uri: "file:///home/me/project" }, { uri: "devhatchery://workspaces/k" }], A)).toEqual([
      "/work",
    ]);
    expect(listingFoldersFor([{ uri: `devhatchery://runners/${B}/files/work/b` }], A)).toEqual([]);
    expect(listingFoldersFor(roots, A)).toEqual(["/work/shared", "/work/a"]);
  });
});
