import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRunners } from "../../../test/docker-cleanup.js";
import { createMountFixture, type MountFixture } from "../../../test/mount-fixture.js";
import { ControlPlaneError } from "../../errors.js";
import type { Principal } from "../runner.js";

const VICTIM_SPAWNS = 40;
/** Spawns in flight at once: more spawns within the swapper's time on a busy machine. */
const PARALLEL_SPAWNS = 4;
const SWAP_LIMIT = 20_000_000;
const SWAP_SECONDS = 240;
const CHANGED =
  /^The folder of mount alias "shared" \(subpath "sub"\) changed while the runner was being (created|started)/;
const OUTSIDE_ROOT = /^The subpath "sub" of mount alias "shared" resolves \(through a symlink\) outside the alias root/;

/**
 * Exchanges `sub` and `sub-link` (renameat2 RENAME_EXCHANGE, as an attacking runner would) until the file "stop"
 * appears, for at most SWAP_SECONDS and SWAP_LIMIT swaps; prints how many it made. Perl is in every Debian base.
 */
const SWAPPER =
  `perl -e '$n = $ARGV[0] =~ /aarch64/ ? 276 : 316; ($x, $y) = ("sub", "sub-link"); $s = 0; $end = time + ${SWAP_SECONDS}; ` +
  `while ($s < ${SWAP_LIMIT} && time < $end) { last if ($s & 1023) == 0 && -e "stop"; ` +
  `syscall($n, -100, $x, -100, $y, 2) == 0 or die "renameat2: $!"; $s++ } print "$s\\n"' "$(uname -m)"`;

describe("a bind's folder swapped for a symlink while runners are created", () => {
  let fx: MountFixture;
  let attacker: Principal;
  let victim: Principal;

  beforeAll(async () => {
    // Injected agent (this build's), so the check does not depend on the agent baked into a prebuilt image.
    fx = await createMountFixture("race");
    attacker = fx.principal("race-attacker");
    victim = fx.principal("race-victim");
  }, 120_000);
  afterAll(async () => {
    await fx?.cleanup();
  });

  /** The marker the victim runner sees in its mount: "inside" for the folder asked for. */
  const markerSeenBy = async (runnerId: string): Promise<string> => {
    const result = await fx.execs.run(victim, runnerId, { command: "cat /export/shared/marker" }, () => {});
    return result.stdout.trim();
  };

  it("every spawn mounts the folder it checked or is refused; none mounts the folder outside the root", async () => {
    const attackerRunner = await fx.runners.spawn(attacker, { mounts: [{ alias: "shared", mode: "rw" }] });
    const prepare = await fx.execs.run(
      attacker,
      attackerRunner.runnerId,
      { command: `ln -s ${join(fx.base, "outside")} /export/shared/sub-link` },
      () => {},
    );
    expect(prepare, prepare.stderr).toMatchObject({ exitCode: 0 });
    const swapping = fx.execs.run(
      attacker,
      attackerRunner.runnerId,
      { command: SWAPPER, cwd: "/export/shared", timeoutMs: (SWAP_SECONDS + 30) * 1000 },
      () => {},
    );
    const outcomes = { inside: 0, outside: 0, refusedChanged: 0, refusedOutsideRoot: 0 };
    const unexpected: string[] = [];
    try {
      let next = 0;
      const spawnOne = async (): Promise<void> => {
        const outcome = await fx.runners.spawn(victim, { mounts: [{ alias: "shared", subpath: "sub" }] }).then(
          (runner) => runner,
          (error: unknown) => error,
        );
        if (
          outcome instanceof ControlPlaneError &&
          outcome.code === "PERMISSION_DENIED" &&
          CHANGED.test(outcome.message)
        )
          outcomes.refusedChanged++;
        else if (
          outcome instanceof ControlPlaneError &&
          outcome.code === "PERMISSION_DENIED" &&
          OUTSIDE_ROOT.test(outcome.message)
        )
          outcomes.refusedOutsideRoot++;
        else if (outcome instanceof Error)
          unexpected.push(`${(outcome as ControlPlaneError).code ?? ""} ${outcome.message}`);
        else {
          const { runnerId } = outcome as { runnerId: string };
          if ((await markerSeenBy(runnerId)) === "inside") outcomes.inside++;
          else outcomes.outside++;
          await fx.runners.remove(victim, runnerId);
        }
      };
      await Promise.all(
        Array.from({ length: PARALLEL_SPAWNS }, async () => {
          while (next < VICTIM_SPAWNS) {
            next++;
            await spawnOne();
          }
        }),
      );
    } finally {
      await writeFile(join(fx.base, "shared", "stop"), "");
    }
    const swapped = await swapping;
    expect(swapped, swapped.stderr).toMatchObject({ exitCode: 0 });
    const swaps = Number(swapped.stdout.trim());
    process.stdout.write(
      `mount race: ${swaps} swaps during ${VICTIM_SPAWNS} spawns; mounted the checked folder ${outcomes.inside}, ` +
        `refused (folder changed) ${outcomes.refusedChanged}, refused (symlink at check) ${outcomes.refusedOutsideRoot}, mounted outside ${outcomes.outside}\n`,
    );
    expect(unexpected).toEqual([]);
    expect(outcomes.outside).toBe(0);
    expect(swaps).toBeGreaterThan(1000);
    expect(outcomes.inside + outcomes.refusedChanged + outcomes.refusedOutsideRoot).toBe(VICTIM_SPAWNS);
    // Refusals after the container started are audited; a swap seen while checking refuses before anything exists.
    const refusals = fx.audit.filter((event) => event.action === "mount.changed");
    expect(refusals.length).toBeLessThanOrEqual(outcomes.refusedChanged);
    for (const event of refusals)
      expect(event).toMatchObject({
        principal: victim.id,
        outcome: "denied",
        alias: "shared",
        subpath: "sub",
        target: "/export/shared",
        phase: "created",
      });
    expect(await countRunners(victim.id)).toBe(0);
  }, 600_000);

  it("a stopped runner whose folder was swapped for a symlink is not started on the other folder", async () => {
    await rm(join(fx.base, "shared", "stop"), { force: true });
    await rm(join(fx.base, "shared", "sub-link"), { force: true });
    await rm(join(fx.base, "shared", "sub"), { recursive: true, force: true });
    await mkdir(join(fx.base, "shared", "sub"));
    await writeFile(join(fx.base, "shared", "sub", "marker"), "inside\n");
    const runner = await fx.runners.spawn(victim, { mounts: [{ alias: "shared", subpath: "sub" }] });
    expect(await markerSeenBy(runner.runnerId)).toBe("inside");
    await fx.runners.stop(victim, runner.runnerId);
    await rm(join(fx.base, "shared", "sub"), { recursive: true });
    await symlink(join(fx.base, "outside"), join(fx.base, "shared", "sub"));
    const error = await fx.runners.attach(victim, runner.runnerId).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect((error as ControlPlaneError).code).toBe("PERMISSION_DENIED");
    expect((error as ControlPlaneError).message).toMatch(CHANGED);
    expect((await fx.runners.list(victim)).map((info) => info.status)).not.toContain("ready");
  }, 120_000);
});
