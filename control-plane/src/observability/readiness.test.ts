import { describe, expect, it } from "vitest";
import { createReadiness } from "./readiness.js";

describe("createReadiness", () => {
  it("reports every check, with the error and hint of each failing one", async () => {
    const readiness = createReadiness([
      { name: "docker", check: async () => undefined, hint: "start docker" },
      { name: "store", check: () => Promise.reject(new Error("closed")), hint: "restart" },
    ]);
    expect(await readiness()).toEqual({
      ready: false,
      checks: [
        { name: "docker", ok: true },
        { name: "store", ok: false, error: "closed", hint: "restart" },
      ],
    });
  });

  it("reuses one report within the cache window and runs again after it", async () => {
    let runs = 0;
    let nowMs = 1_000_000;
    const readiness = createReadiness([{ name: "count", check: async () => void runs++, hint: "" }], 50, () => nowMs);
    await Promise.all([readiness(), readiness()]);
    nowMs += 50;
    await readiness();
    expect(runs).toBe(1);
    nowMs += 1;
    await readiness();
    expect(runs).toBe(2);
    await readiness();
    expect(runs).toBe(2);
  });
});
