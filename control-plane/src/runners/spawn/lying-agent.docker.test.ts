import { mkdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLog } from "../../../test/captured-log.js";
import { countRunners } from "../../../test/docker-cleanup.js";
import { createMountFixture, type MountFixture } from "../../../test/mount-fixture.js";
import type { AuditEvent } from "../../audit.js";
import { ControlPlaneError } from "../../errors.js";
import { verifyBinds } from "./bind-verification.js";
import type { Principal } from "../runner.js";

const CHANGED =
  /^The folder of mount alias "shared" \(subpath "sub"\) changed while the runner was being started: "\/export\/shared" in the runner is not the folder that was checked/;
const MOVED =
  /^The folder of mount alias "shared" \(subpath "sub"\) changed while the runner was being started: nothing is mounted at "\/export\/shared" in the runner/;

/**
 * What a tenant can load into the agent's Node (here through NODE_OPTIONS in the spawn's env; an image's ENV, an
 * /etc/ld.so.preload or a replaced baked agent do the same): every stat under /export reports LIE_IDENTITY.
 */
const LIE = `
import fsp from "node:fs/promises";
const [dev, ino] = process.env.LIE_IDENTITY.split(":").map(BigInt);
for (const name of ["stat", "lstat"]) {
  const real = fsp[name];
  fsp[name] = async (path, options) => {
    const stats = await real(path, options);
    if (String(path).startsWith("/export/") && options && options.bigint) Object.assign(stats, { dev, ino });
    return stats;
  };
}`;
const NODE_OPTIONS = `--import=data:text/javascript;base64,${Buffer.from(LIE).toString("base64")}`;

describe("a runner whose agent lies about the folder mounted at a bind's target", () => {
  let fx: MountFixture;
  let tenant: Principal;

  beforeAll(async () => {
    // Injected agent (this build's): the tenant's image has no say in the agent's code, only in its environment.
    fx = await createMountFixture("lying");
    tenant = fx.principal("lying-agent");
  }, 120_000);
  afterAll(async () => {
    await fx?.cleanup();
  });

  /** Spawns a runner mounting "sub" whose agent reports the folder's identity for anything under /export. */
  const spawnLiar = async (): Promise<{ runnerId: string; identity: string }> => {
    const checked = await stat(join(fx.base, "shared", "sub"), { bigint: true });
    const identity = `${checked.dev}:${checked.ino}`;
    const runner = await fx.runners.spawn(tenant, {
      mounts: [{ alias: "shared", subpath: "sub" }],
      env: { NODE_OPTIONS, LIE_IDENTITY: identity },
    });
    return { runnerId: runner.runnerId, identity };
  };

  /** Starts the stopped runner again: the error, or what it sees at /export/shared/marker when it was started. */
  const restart = async (runnerId: string): Promise<unknown> => {
    const error = await fx.runners.attach(tenant, runnerId).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (error === undefined)
      return (await fx.execs.run(tenant, runnerId, { command: "cat /export/shared/marker" }, () => {})).stdout.trim();
    return error;
  };

  it("is not started again on a folder swapped for a symlink, although its agent reports the checked identity", async () => {
    const { runnerId, identity } = await spawnLiar();
    // The agent lies: a file inside the mount has its own inode, yet the agent reports the folder's.
    const marker = await fx.execs.run(tenant, runnerId, { command: "stat -c %d:%i /export/shared/marker" }, () => {});
    expect(marker.stdout.trim()).not.toBe(identity);
    expect(await (await fx.runners.connect(tenant, runnerId)).fs.identity("/export/shared/marker")).toBe(identity);
    await fx.runners.stop(tenant, runnerId);
    fx.audit.length = 0;

    await rm(join(fx.base, "shared", "sub"), { recursive: true });
    await symlink(join(fx.base, "outside"), join(fx.base, "shared", "sub"));
    const outcome = await restart(runnerId);
    await rm(join(fx.base, "shared", "sub"));
    await mkdir(join(fx.base, "shared", "sub"));
    await writeFile(join(fx.base, "shared", "sub", "marker"), "inside\n");
    expect(outcome).toBeInstanceOf(ControlPlaneError);
    expect((outcome as ControlPlaneError).code).toBe("PERMISSION_DENIED");
    expect((outcome as ControlPlaneError).message).toMatch(CHANGED);
    expect(fx.audit.filter((event) => event.action === "mount.changed")).toEqual([
      expect.objectContaining({
        action: "mount.changed",
        principal: tenant.id,
        outcome: "denied",
        runner: runnerId,
        alias: "shared",
        subpath: "sub",
        target: "/export/shared",
        phase: "started",
      }),
    ]);
    expect((await fx.runners.list(tenant)).map((info) => info.status)).not.toContain("ready");
    await fx.runners.remove(tenant, runnerId);
  }, 180_000);

  it("is not started again when its own /export was replaced by a symlink, so the engine mounted the folder elsewhere", async () => {
    const { runnerId } = await spawnLiar();
    // The mount point itself cannot be moved, its parent can: the engine follows the symlink inside the runner at the next start.
    const moved = await fx.execs.run(
      tenant,
      runnerId,
      { command: "mv /export /export-old && mkdir /tmp/elsewhere && ln -s /tmp/elsewhere /export" },
      () => {},
    );
    expect(moved, moved.stderr).toMatchObject({ exitCode: 0 });
    await fx.runners.stop(tenant, runnerId);
    fx.audit.length = 0;
    const outcome = await restart(runnerId);
    expect(outcome).toBeInstanceOf(ControlPlaneError);
    expect((outcome as ControlPlaneError).code).toBe("PERMISSION_DENIED");
    expect((outcome as ControlPlaneError).message).toMatch(MOVED);
    expect(fx.audit.filter((event) => event.action === "mount.changed")).toEqual([
      expect.objectContaining({
        action: "mount.changed",
        runner: runnerId,
        target: "/export/shared",
        phase: "started",
      }),
    ]);
    await fx.runners.remove(tenant, runnerId);
    expect(await countRunners(tenant.id)).toBe(0);
  }, 180_000);

  it("falls back to the agent (which a tenant can make lie) where the runner's process is not visible, and logs that once", async () => {
    const { runnerId, identity } = await spawnLiar();
    const client = await fx.runners.connect(tenant, runnerId);
    const container = await fx.runtime.containers.findRunner(runnerId);
    const [bind] = container?.binds ?? [];
    if (!container?.pid || !bind?.check) throw new Error(`runner "${runnerId}" has no pid or no checked bind`);
    const wrong = { ...bind, check: { ...bind.check, identity: "1:1" } };
    const records: AuditEvent[] = [];
    const to = { log: { record: (event: AuditEvent) => records.push(event) }, principal: tenant.id, runner: runnerId };
    const { log: logged, lines } = captureLog();

    expect(await verifyBinds(client, [bind], "started", to, container, logged)).toBeUndefined();
    expect((await verifyBinds(client, [wrong], "started", to, container, logged))?.message).toContain(
      'the checked folder is no longer on the device it was checked on (device "0:1")',
    );
    const unseen = [
      { containerId: container.containerId, pid: undefined },
      { containerId: container.containerId, pid: process.pid },
    ];
    for (const hidden of unseen) {
      expect((await verifyBinds(client, [wrong], "started", to, hidden, logged))?.message).toContain(
        `(device:inode "${identity}", expected "1:1"; it was replaced, e.g. by a symlink)`,
      );
    }
    expect(records.map((event) => event.action)).toEqual(["mount.changed", "mount.changed", "mount.changed"]);
    const notices = lines().filter((line) =>
      String(line.msg).startsWith("mount verification relies on the runner's agent"),
    );
    expect(notices).toHaveLength(1);
    await fx.runners.remove(tenant, runnerId);
  }, 180_000);
});
