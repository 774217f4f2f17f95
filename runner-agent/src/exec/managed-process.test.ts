import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { ManagedProcess } from "./managed-process.js";
import type { ProcessIoEvents } from "./process-io.js";

describe("ManagedProcess exit path", () => {
  const decoys: ChildProcess[] = [];
  afterEach(() => {
    for (const decoy of decoys.splice(0)) decoy.kill("SIGKILL");
  });

  /**
   * A process group standing in for one that got the reaped exec's pid: the fake launcher reports that pid, so any
   * group signal the exec sends after its exit lands on the decoy.
   */
  async function startDecoy(ignoreInterrupt = false): Promise<ChildProcess> {
    const decoy = spawn("sh", ["-c", `${ignoreInterrupt ? "trap '' INT; " : ""}echo ready; exec sleep 60`], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    decoys.push(decoy);
    await new Promise((resolve) => decoy.stdout!.once("data", resolve));
    return decoy;
  }

  const isAlive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  async function launchedOn(
    pid: number,
    oomKills: () => Promise<number | undefined>,
  ): Promise<{ managed: ManagedProcess; events: ProcessIoEvents }> {
    let events: ProcessIoEvents | undefined;
    const managed = new ManagedProcess({
      id: "ex_reaped",
      command: "true",
      user: "",
      timeoutMs: 0,
      killGraceMs: 1_000,
      output: { ringBytes: 4096, maxBytes: 65536, spill: undefined },
      oomKills,
      log: createLogger("silent"),
      onEnded: () => undefined,
    });
    const io = {
      pid,
      write: async () => undefined,
      closeStdin: () => undefined,
      pauseOutput: () => undefined,
      resumeOutput: () => undefined,
      resize: () => undefined,
    };
    await managed.launch(
      { argv: ["true"], cwd: "/", env: {}, uid: undefined, gid: undefined, terminal: undefined },
      async (_spec, given) => {
        events = given;
        return io;
      },
    );
    return { managed, events: events! };
  }

  it("refuses signals as soon as the child was reaped, while the OOM check is still pending, and never signals its old group id", async () => {
    const decoy = await startDecoy();
    let oomCalls = 0;
    // The first read (at launch) answers; the one after the exit never does, holding the exit path at its await.
    const { managed, events } = await launchedOn(decoy.pid!, () =>
      oomCalls++ === 0 ? Promise.resolve(0) : new Promise<number>(() => undefined),
    );
    events.onExit(null, "SIGKILL");

    expect(() => managed.signal("SIGTERM")).toThrow(
      'Exec "ex_reaped" has already ended (ended by SIGKILL); it cannot receive SIGTERM.',
    );
    managed.interrupt(0);
    managed.stop();
    expect(managed.info().state).toBe("exited");
    expect(isAlive(decoy.pid!)).toBe(true);
  });

  it("still kills the stragglers of a requested stop, in the same turn as the exit", async () => {
    const decoy = await startDecoy(true);
    const { managed, events } = await launchedOn(decoy.pid!, () => Promise.resolve(0));
    const exited = new Promise((resolve) => decoy.once("exit", (_code, signal) => resolve(signal)));
    managed.interrupt(60_000);
    // The group ignores the interrupt's SIGINT; the leader's exit then kills the stragglers, in the same turn.
    events.onExit(null, "SIGINT");
    expect(managed.info().exit).toMatchObject({ reason: "interrupted", signal: "SIGINT" });
    expect(await exited).toBe("SIGKILL");
  });
});
