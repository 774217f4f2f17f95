import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MatrixContext } from "./hostile-context.js";
import { toolOutcome, type Row } from "./hostile-row.js";

/**
 * Lays out the allowed roots: `data` (rw) holds a folder, a file and symlinks that lead out of it (relative, absolute,
 * to /etc, to /, to the other alias, up from a subfolder); `ro` is read-only; `outside` is no allowed root at all.
 * Returns the DEVHATCHERY_ALLOWED_ROOTS value.
 */
export async function layOutAllowedRoots(base: string): Promise<string> {
  for (const folder of ["data/sub", "ro", "outside"]) await mkdir(join(base, folder), { recursive: true });
  await writeFile(join(base, "outside", "secret.txt"), "outside the roots\n");
  await writeFile(join(base, "data", "file.txt"), "inside\n");
  const links: [string, string][] = [
    ["data/link-out", "../outside"],
    ["data/link-abs", join(base, "outside")],
    ["data/link-etc", "/etc"],
    ["data/link-root", "/"],
    ["data/link-ro", "../ro"],
    ["data/sub/link-up", "../.."],
  ];
  for (const [path, target] of links) await symlink(target, join(base, path));
  return `data=${join(base, "data")}:rw,ro=${join(base, "ro")}:ro`;
}

const DOTS = { code: "INVALID_ARGUMENT", text: 'has a ".." component' };
const ABSOLUTE = { code: "INVALID_ARGUMENT", text: "is absolute" };
const THROUGH_LINK = { code: "PERMISSION_DENIED", text: "resolves (through a symlink) outside the alias root" };
const BAD_TARGET = { code: "INVALID_ARGUMENT", text: "must be a normalized absolute path under /export/" };
const BAD_NAME = {
  code: "-32602",
  text: 'name must be letters, digits, ".", "_" or "-", starting with a letter or digit',
};
const UNKNOWN_ALIAS = { code: "INVALID_ARGUMENT", text: "is not an allowed root" };

/** runner_spawn mounts that leave the allowed roots: `..`, absolute subpaths, symlinks out, targets outside /export. */
const SPAWN_MOUNTS: Record<string, { mounts: Record<string, unknown>[]; expected: { code: string; text: string } }> = {
  "subpath ..": { mounts: [{ alias: "data", subpath: ".." }], expected: DOTS },
  "subpath ../outside": { mounts: [{ alias: "data", subpath: "../outside" }], expected: DOTS },
  "subpath sub/../../outside": { mounts: [{ alias: "data", subpath: "sub/../../outside" }], expected: DOTS },
  "subpath ./sub/./../../outside": { mounts: [{ alias: "data", subpath: "./sub/./../../outside" }], expected: DOTS },
  "subpath ../ro, rw": { mounts: [{ alias: "data", subpath: "../ro", mode: "rw" }], expected: DOTS },
  "subpath /etc": { mounts: [{ alias: "data", subpath: "/etc" }], expected: ABSOLUTE },
  "subpath /": { mounts: [{ alias: "data", subpath: "/" }], expected: ABSOLUTE },
  "subpath through a relative symlink out": {
    mounts: [{ alias: "data", subpath: "link-out" }],
    expected: THROUGH_LINK,
  },
  "subpath through an absolute symlink out": {
    mounts: [{ alias: "data", subpath: "link-abs" }],
    expected: THROUGH_LINK,
  },
  "subpath through a symlink to /etc": { mounts: [{ alias: "data", subpath: "link-etc" }], expected: THROUGH_LINK },
  "subpath through a symlink to /, rw": {
    mounts: [{ alias: "data", subpath: "link-root", mode: "rw" }],
    expected: THROUGH_LINK,
  },
  "subpath through a symlink to the ro alias, rw": {
    mounts: [{ alias: "data", subpath: "link-ro", mode: "rw" }],
    expected: THROUGH_LINK,
  },
  "subpath through a symlink up from a subfolder": {
    mounts: [{ alias: "data", subpath: "sub/link-up" }],
    expected: THROUGH_LINK,
  },
  "subpath below a symlink out": { mounts: [{ alias: "data", subpath: "link-root/etc" }], expected: THROUGH_LINK },
  "target /etc": { mounts: [{ alias: "data", target: "/etc" }], expected: BAD_TARGET },
  "target /export/../etc": { mounts: [{ alias: "data", target: "/export/../etc" }], expected: BAD_TARGET },
  "target /export itself": { mounts: [{ alias: "data", target: "/export" }], expected: BAD_TARGET },
  "target /work": { mounts: [{ alias: "data", target: "/work" }], expected: BAD_TARGET },
  "target relative": { mounts: [{ alias: "data", target: "export/data" }], expected: BAD_TARGET },
  "target /export/data/../../proc": {
    mounts: [{ alias: "data", target: "/export/data/../../proc" }],
    expected: BAD_TARGET,
  },
  "alias that is no allowed root": { mounts: [{ alias: "etc" }], expected: UNKNOWN_ALIAS },
  "alias ../data": { mounts: [{ alias: "../data" }], expected: UNKNOWN_ALIAS },
  "alias in upper case": { mounts: [{ alias: "DATA" }], expected: UNKNOWN_ALIAS },
  "rw on the ro alias": {
    mounts: [{ alias: "ro", mode: "rw" }],
    expected: { code: "PERMISSION_DENIED", text: 'Mount alias "ro" is read-only' },
  },
  "two mounts on one target": {
    mounts: [
      { alias: "data", target: "/export/x" },
      { alias: "ro", target: "/export/x" },
    ],
    expected: { code: "INVALID_ARGUMENT", text: 'Two mounts target "/export/x"' },
  },
};

/** export_create destinations and names that leave the rw mount or the export root. */
const EXPORT_ESCAPES: Record<string, { args: Record<string, unknown>; expected: { code: string; text: string } }> = {
  "destination through a relative symlink out": {
    args: { destination: "/export/data/link-out" },
    expected: { code: "PERMISSION_DENIED", text: "resolves (through a symlink) outside the mount" },
  },
  "destination through an absolute symlink out": {
    args: { destination: "/export/data/link-abs" },
    expected: { code: "PERMISSION_DENIED", text: "resolves (through a symlink) outside the mount" },
  },
  "destination through a symlink to /etc": {
    args: { destination: "/export/data/link-etc" },
    expected: { code: "PERMISSION_DENIED", text: "resolves (through a symlink) outside the mount" },
  },
  "destination through a symlink to the ro alias": {
    args: { destination: "/export/data/link-ro" },
    expected: { code: "PERMISSION_DENIED", text: "resolves (through a symlink) outside the mount" },
  },
  "destination through a symlink up": {
    args: { destination: "/export/data/sub/link-up" },
    expected: { code: "PERMISSION_DENIED", text: "resolves (through a symlink) outside the mount" },
  },
  "destination /export/data/../../etc": {
    args: { destination: "/export/data/../../etc" },
    expected: { code: "INVALID_ARGUMENT", text: "/export/data/../../etc" },
  },
  "destination /etc": { args: { destination: "/etc" }, expected: { code: "INVALID_ARGUMENT", text: '"/etc"' } },
  "name ../escape": { args: { name: "../escape" }, expected: BAD_NAME },
  "name with a slash": { args: { name: "a/b" }, expected: BAD_NAME },
  "name starting with a dot": { args: { name: ".staging" }, expected: BAD_NAME },
  "name with a NUL byte": { args: { name: "a\u0000b" }, expected: BAD_NAME },
};

/** `..` and symlink escapes of the host mounts, through runner_spawn and export_create. */
export function mountEscapeRows(context: MatrixContext): Row[] {
  const rows: Row[] = [];
  for (const [name, { mounts, expected }] of Object.entries(SPAWN_MOUNTS)) {
    rows.push({
      group: "mount escape",
      name: `runner_spawn mounts: ${name}`,
      target: "runner_spawn",
      send: () => toolOutcome(context.attackerClient, "runner_spawn", { storage: "tmpfs", mounts }),
      expected: { tool: expected },
    });
  }
  for (const [name, { args, expected }] of Object.entries(EXPORT_ESCAPES)) {
    rows.push({
      group: "mount escape",
      name: `export_create ${name}`,
      target: "export_create",
      send: () =>
        toolOutcome(context.attackerClient, "export_create", {
          runner: context.attacker.runnerId,
          path: "/work",
          ...args,
        }),
      expected: { tool: expected },
    });
  }
  return rows;
}
