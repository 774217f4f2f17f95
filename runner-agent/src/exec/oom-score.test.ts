import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecState, type ExecInfo, type ExecReadResponse } from "@devhatchery/proto/agent/v1/exec";
import { startExecAgent, startProcess, unaryCall, type ExecAgent } from "../../test/agent-harness.js";
import { CHILD_OOM_SCORE_ADJ } from "./oom-score.js";

describe("processes the agent starts are the OOM killer's first choice; the agent keeps its own score", () => {
  let agent: ExecAgent;
  beforeAll(async () => {
    agent = await startExecAgent();
  });
  afterAll(() => agent?.close());

  const get = (execId: string) =>
    unaryCall<{ exec?: ExecInfo }>((metadata, callback) => agent.exec.get({ execId }, metadata, callback)).then(
      (r) => r.exec!,
    );
  const read = (execId: string) =>
    unaryCall<ExecReadResponse>((metadata, callback) =>
      agent.exec.read({ execId, cursor: 0, maxBytes: 0, waitMs: 0 }, metadata, callback),
    );

  async function outputOf(request: Parameters<typeof startProcess>[1]): Promise<string> {
    const started = await startProcess(agent.exec, request);
    await expect
      .poll(async () => (await get(started.execId)).state, { timeout: 10_000 })
      .toBe(ExecState.EXEC_STATE_EXITED);
    return Buffer.concat((await read(started.execId)).chunks.map((chunk) => chunk.data)).toString();
  }

  it("starts pipe and pty processes, and what they fork, at the highest oom_score_adj", async () => {
    const own = readFileSync("/proc/self/oom_score_adj", "utf8").trim();
    // The score is written right after the start (oom-score.ts): what runs in the first instants may still read the
    // default (a pty `cat` did once on a loaded machine), so each check starts once the process is surely marked.
    expect(
      await outputOf({ shell: "sleep 0.2; cat /proc/self/oom_score_adj; sh -c 'cat /proc/self/oom_score_adj'" }),
    ).toBe(`${CHILD_OOM_SCORE_ADJ}\n${CHILD_OOM_SCORE_ADJ}\n`);
    expect(await outputOf({ shell: "sleep 0.2; cat /proc/self/oom_score_adj", pty: { rows: 24, cols: 80 } })).toBe(
      `${CHILD_OOM_SCORE_ADJ}\r\n`,
    );
    expect(readFileSync("/proc/self/oom_score_adj", "utf8").trim()).toBe(own);
  });
});
