import { statSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors.js";
import { MountPolicy, type MountRequest } from "./mount-policy.js";

/** The "dev:ino" a bind check records for a folder. */
function identityOf(path: string): string {
  const stats = statSync(path, { bigint: true });
  return `${stats.dev}:${stats.ino}`;
}

describe("MountPolicy", () => {
  let base: string;
  let policy: MountPolicy;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-mount-policy-"));
    await mkdir(join(base, "data", "reports", "2024"), { recursive: true });
    await mkdir(join(base, "out"), { recursive: true });
    await writeFile(join(base, "data", "file.txt"), "x");
    await symlink("/etc", join(base, "data", "to-etc"));
    await symlink(join(base, "out"), join(base, "data", "to-out"));
    await symlink("reports", join(base, "data", "inside-link"));
    policy = new MountPolicy([
      { alias: "data", hostPath: join(base, "data"), allowRw: false },
      { alias: "out", hostPath: join(base, "out"), allowRw: true },
      { alias: "gone", hostPath: join(base, "missing"), allowRw: false },
    ]);
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function refusal(requests: MountRequest[]): Promise<{ code: string; message: string }> {
    const error = await policy.resolve(requests).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ControlPlaneError);
    return { code: (error as ControlPlaneError).code, message: (error as ControlPlaneError).message };
  }

  it("mounts aliases read-only under /export/<alias> by default, rw only when asked and allowed, subpaths resolved", async () => {
    const check = (alias: string, subpath: string, path: string) => ({ alias, subpath, identity: identityOf(path) });
    expect(
      await policy.resolve([
        { alias: "data" },
        { alias: "out", mode: "rw" },
        { alias: "data", subpath: "./reports//2024/", target: "/export/reports" },
      ]),
    ).toEqual([
      {
        alias: "data",
        source: join(base, "data"),
        target: "/export/data",
        readOnly: true,
        check: check("data", "", join(base, "data")),
      },
      {
        alias: "out",
        source: join(base, "out"),
        target: "/export/out",
        readOnly: false,
        check: check("out", "", join(base, "out")),
      },
      {
        alias: "data",
        source: join(base, "data", "reports", "2024"),
        target: "/export/reports",
        readOnly: true,
        check: check("data", "reports/2024", join(base, "data", "reports", "2024")),
      },
    ]);
    expect(await policy.resolve([{ alias: "data", subpath: "inside-link" }])).toEqual([
      {
        alias: "data",
        source: join(base, "data", "reports"),
        target: "/export/data",
        readOnly: true,
        check: check("data", "inside-link", join(base, "data", "reports")),
      },
    ]);
    expect(await policy.rootHolding(join(base, "out", "x"))).toMatchObject({ alias: "out" });
    expect(await policy.rootHolding("/etc")).toBeUndefined();
  });

  it("refuses rw on an alias that only allows ro", async () => {
    expect(await refusal([{ alias: "data", mode: "rw" }])).toEqual({
      code: "PERMISSION_DENIED",
      message:
        'Mount alias "data" is read-only; it cannot be mounted "rw". Ask for mode "ro", or ask the operator to allow rw for it.',
    });
  });

  it("refuses subpaths that leave the alias root: through a symlink to /etc or to another alias, or with ..", async () => {
    expect(await refusal([{ alias: "data", subpath: "to-etc" }])).toEqual({
      code: "PERMISSION_DENIED",
      message:
        'The subpath "to-etc" of mount alias "data" resolves (through a symlink) outside the alias root; name a folder inside it.',
    });
    expect((await refusal([{ alias: "data", subpath: "to-out" }])).code).toBe("PERMISSION_DENIED");
    expect(await refusal([{ alias: "data", subpath: "reports/../../out" }])).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'The subpath of mount "data" "reports/../../out" has a ".." component, which would leave it; name a folder inside it, without "..".',
    });
    expect(await refusal([{ alias: "data", subpath: "/etc" }])).toEqual({
      code: "INVALID_ARGUMENT",
      message: 'The subpath of mount "data" "/etc" is absolute; give a path relative to it, e.g. "reports/2024".',
    });
  });

  it("refuses unknown aliases, missing folders, files, bad or clashing targets and too many mounts", async () => {
    expect(await refusal([{ alias: "secrets" }])).toEqual({
      code: "INVALID_ARGUMENT",
      message: 'Mount alias "secrets" is not an allowed root; use one of "data", "out", "gone".',
    });
    expect(await new MountPolicy([]).resolve([{ alias: "x" }]).catch((error: Error) => error.message)).toBe(
      'Mount alias "x" is not an allowed root; this server allows no mounts (the operator sets DEVHATCHERY_ALLOWED_ROOTS).',
    );
    expect(await refusal([{ alias: "gone" }])).toEqual({
      code: "FAILED_PRECONDITION",
      message: 'The host folder of mount alias "gone" is missing or unreadable; ask the operator to create it.',
    });
    expect((await refusal([{ alias: "data", subpath: "nope" }])).code).toBe("NOT_FOUND");
    expect((await refusal([{ alias: "data", subpath: "file.txt" }])).code).toBe("INVALID_ARGUMENT");
    for (const target of ["/work", "/export", "/export/../etc", "export/data", "/opt/devhatchery"]) {
      expect(await refusal([{ alias: "data", target }])).toEqual({
        code: "INVALID_ARGUMENT",
        message: `The mount target "${target}" must be a normalized absolute path under /export/, e.g. "/export/data"; omit it for that default.`,
      });
    }
    expect(await refusal([{ alias: "data" }, { alias: "out", target: "/export/data" }])).toEqual({
      code: "INVALID_ARGUMENT",
      message: 'Two mounts target "/export/data" (aliases "data" and "out"); give each its own target under /export.',
    });
    expect((await refusal(Array.from({ length: 17 }, () => ({ alias: "data" })))).message).toBe(
      "17 mounts were asked for; at most 16 are allowed per runner. Mount a common parent folder instead.",
    );
  });
});
