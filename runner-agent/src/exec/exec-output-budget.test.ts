import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecState, type ExecInfo, type ExecReadResponse } from "@devhatchery/proto/agent/v1/exec";
import { startExecAgent, startProcess, unaryCall, type ExecAgent } from "../../test/agent-harness.js";

const KIB = 1024;
const MIB = 1024 * KIB;

describe("ExecService output budget: spilled output of all execs together stays within the runner's budget", () => {
  /** 64 KiB in memory and 1 MiB kept per process, 2 MiB of spill for the whole agent. */
  let agent: ExecAgent;
  beforeAll(async () => {
    agent = await startExecAgent({ ringBytes: 64 * KIB, maxOutputBytes: 1 * MIB, outputBudgetBytes: 2 * MIB });
  });
  afterAll(() => agent?.close());

  const get = (execId: string) =>
    unaryCall<{ exec?: ExecInfo }>((metadata, callback) => agent.exec.get({ execId }, metadata, callback)).then(
      (r) => r.exec!,
    );
  const read = (execId: string, cursor: number) =>
    unaryCall<ExecReadResponse>((metadata, callback) =>
      agent.exec.read({ execId, cursor, maxBytes: 64 * KIB, waitMs: 0 }, metadata, callback),
    );

  /** Runs a process writing `bytes` bytes and waits until it ended and its output is on disk. */
  async function produce(bytes: number): Promise<ExecInfo> {
    const started = await startProcess(agent.exec, { shell: `head -c ${bytes} /dev/zero` });
    await expect
      .poll(async () => (await get(started.execId)).state, { timeout: 20_000 })
      .toBe(ExecState.EXEC_STATE_EXITED);
    await expect.poll(async () => (await get(started.execId)).output!.memoryBytes, { timeout: 20_000 }).toBe(0);
    return get(started.execId);
  }

  const spilled = async (ids: string[]) =>
    (await Promise.all(ids.map(get))).reduce((sum, info) => sum + info.output!.spilledBytes, 0);

  it("drops the oldest finished exec's output first, and a read of it says how many bytes went", async () => {
    const oldest = await produce(900 * KIB);
    const middle = await produce(900 * KIB);
    expect(await spilled([oldest.execId, middle.execId])).toBe(1800 * KIB);
    const newest = await produce(900 * KIB);

    const ids = [oldest.execId, middle.execId, newest.execId];
    expect(await spilled(ids)).toBeLessThanOrEqual(2 * MIB);
    const [first, second, third] = await Promise.all(ids.map(get));
    expect(first!.output!.startCursor).toBeGreaterThan(0);
    expect(second!.output!.startCursor).toBe(0);
    expect(third!.output!.startCursor).toBe(0);

    const gap = await read(oldest.execId, 0);
    expect(gap.droppedBytes).toBe(first!.output!.startCursor);
    expect(gap.nextCursor).toBe(
      first!.output!.startCursor + gap.chunks.reduce((sum, chunk) => sum + chunk.data.length, 0),
    );
    const intact = await read(middle.execId, 0);
    expect(intact.droppedBytes).toBe(0);
  });
});
