import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRunAsUser, type AccountFiles } from "./run-as-user.js";

describe("resolveRunAsUser", () => {
  let dir: string;
  let files: AccountFiles;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-accounts-"));
    files = { passwd: join(dir, "passwd"), group: join(dir, "group") };
    await writeFile(
      files.passwd,
      "root:x:0:0:root:/root:/bin/bash\n# a comment\napp:x:1000:1001:App:/home/app:/bin/sh\nnohome:x:1002:1002:::/bin/sh\n",
    );
    await writeFile(files.group, "root:x:0:\nstaff:x:50:app\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves a name or a uid through passwd, with the entry's gid and home", async () => {
    expect(await resolveRunAsUser("app", files)).toEqual({ uid: 1000, gid: 1001, name: "app", home: "/home/app" });
    expect(await resolveRunAsUser("1000", files)).toEqual({ uid: 1000, gid: 1001, name: "app", home: "/home/app" });
    expect(await resolveRunAsUser("nohome", files)).toEqual({ uid: 1002, gid: 1002, name: "nohome", home: undefined });
  });

  it("gives a uid without a passwd entry gid 0, like docker exec --user", async () => {
    expect(await resolveRunAsUser("4242", files)).toEqual({ uid: 4242, gid: 0, name: undefined, home: undefined });
  });

  it("takes a group by gid or by name from the group file", async () => {
    expect(await resolveRunAsUser("app:50", files)).toMatchObject({ uid: 1000, gid: 50 });
    expect(await resolveRunAsUser("4242:staff", files)).toMatchObject({ uid: 4242, gid: 50 });
  });

  it("refuses unknown names and malformed specs with messages that say how to fix them", async () => {
    await expect(resolveRunAsUser("ghost", files)).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `User "ghost" not found in ${files.passwd} of this runner; pass a numeric uid, or create the user first (useradd ghost).`,
    });
    await expect(resolveRunAsUser("app:ghosts", files)).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `Group "ghosts" not found in ${files.group} of this runner; pass a numeric gid, or create the group first (groupadd ghosts).`,
    });
    for (const spec of ["app:", "a:b:c", "99999999999"]) {
      await expect(resolveRunAsUser(spec, files)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
  });
});
