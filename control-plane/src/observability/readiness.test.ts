import { describe, expect, it } from "vitest";
import { captureLog } from "../../test/captured-log.js";
import { createReadiness } from "./readiness.js";

describe("createReadiness", () => {
  it("reports only each check's name and outcome; the error and the fix go to the log", async () => {
    const { log, lines } = captureLog();
    const readiness = createReadiness(
      [
        { name: "docker", check: async () => undefined, hint: "start docker" },
        {
          name: "store",
          check: () =>
            Promise.reject(
              new Error('Docker at "tcp://10.0.0.5:2375" does not answer: connect ECONNREFUSED 10.0.0.5:2375'),
            ),
          hint: "restart",
        },
      ],
      { log },
    );
    expect(await readiness()).toEqual({
      ready: false,
      checks: [
        { name: "docker", ok: true },
        { name: "store", ok: false },
      ],
    });
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 40,
        check: "store",
        error: 'Docker at "tcp://10.0.0.5:2375" does not answer: connect ECONNREFUSED 10.0.0.5:2375',
        hint: "restart",
        msg: "readiness check failed",
      }),
    ]);
  });

  it("logs a failing check once until it passes again", async () => {
    const { log, lines } = captureLog();
    let now = 0;
    let failing = true;
    const checkFails = {
      name: "store",
      check: () => (failing ? Promise.reject(new Error("closed")) : Promise.resolve()),
      hint: "restart",
    };
    const probe = createReadiness([checkFails], { log, cacheMs: 10, now: () => now });
    await probe();
    now += 11;
    await probe();
    failing = false;
    now += 11;
    expect(await probe()).toEqual({ ready: true, checks: [{ name: "store", ok: true }] });
    expect(lines().map((line) => line.msg)).toEqual(["readiness check failed", "readiness check passes again"]);
  });

  it("reuses one report within the cache window and runs again after it", async () => {
    let runs = 0;
    let now = 1_000;
    const readiness = createReadiness([{ name: "count", check: async () => void runs++, hint: "" }], {
      cacheMs: 50,
      now: () => now,
    });
    await Promise.all([readiness(), readiness()]);
    now += 50;
    await readiness();
    expect(runs).toBe(1);
    now += 1;
    await readiness();
    expect(runs).toBe(2);
  });
});
