import { describe, expect, it } from "vitest";
import { KeyedLock } from "./keyed-lock.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe("KeyedLock", () => {
  it("runs tasks for one key one after another, in call order", async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const gate = deferred();
    const first = lock.run("a", async () => {
      events.push("first start");
      await gate.promise;
      events.push("first end");
      return 1;
    });
    const second = lock.run("a", async () => {
      events.push("second");
      return 2;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["first start"]);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events).toEqual(["first start", "first end", "second"]);
    expect(lock.size).toBe(0);
  });

  it("runs tasks for different keys at the same time", async () => {
    const lock = new KeyedLock();
    const gate = deferred();
    const events: string[] = [];
    const blocked = lock.run("a", async () => {
      await gate.promise;
      events.push("a");
    });
    await lock.run("b", async () => {
      events.push("b");
    });
    expect(events).toEqual(["b"]);
    gate.resolve();
    await blocked;
    expect(events).toEqual(["b", "a"]);
  });

  it("passes a failure to its caller and still runs the next task", async () => {
    const lock = new KeyedLock();
    const failing = lock.run("a", async () => {
      throw new Error("boom");
    });
    const next = lock.run("a", async () => "after");
    await expect(failing).rejects.toThrow("boom");
    await expect(next).resolves.toBe("after");
    expect(lock.size).toBe(0);
  });
});
