import { describe, expect, it } from "vitest";
import { PathLocks } from "./path-locks.js";

/** A task that records when it runs and finishes only when told to. */
function gate(log: string[], name: string): { work: () => Promise<string>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    work: async () => {
      log.push(`start ${name}`);
      await opened;
      log.push(`end ${name}`);
      return name;
    },
    open: () => open(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("PathLocks", () => {
  it("runs work on one path one at a time, in arrival order", async () => {
    const locks = new PathLocks();
    const log: string[] = [];
    const [a, b] = [gate(log, "a"), gate(log, "b")];
    const first = locks.run(["/x"], a.work);
    const second = locks.run(["/x"], b.work);
    await settle();
    expect(log).toEqual(["start a"]);
    a.open();
    b.open();
    expect(await Promise.all([first, second])).toEqual(["a", "b"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b"]);
    expect(locks.size).toBe(0);
  });

  it("runs work on different paths at the same time", async () => {
    const locks = new PathLocks();
    const log: string[] = [];
    const [a, b] = [gate(log, "a"), gate(log, "b")];
    const both = Promise.all([locks.run(["/x"], a.work), locks.run(["/y"], b.work)]);
    await settle();
    expect(log).toEqual(["start a", "start b"]);
    a.open();
    b.open();
    await both;
  });

  it("takes several paths at once without deadlock, and releases them when the work fails", async () => {
    const locks = new PathLocks();
    const log: string[] = [];
    const [a, b, c] = [gate(log, "a"), gate(log, "b"), gate(log, "c")];
    const ab = locks.run(["/x", "/y"], a.work);
    const ba = locks.run(["/y", "/x"], b.work);
    const failing = locks.run(["/x"], () => Promise.reject(new Error("boom")));
    const after = locks.run(["/x"], c.work);
    a.open();
    b.open();
    c.open();
    await expect(Promise.all([ab, ba])).resolves.toEqual(["a", "b"]);
    await expect(failing).rejects.toThrow("boom");
    await expect(after).resolves.toBe("c");
    expect(locks.size).toBe(0);
  });
});
