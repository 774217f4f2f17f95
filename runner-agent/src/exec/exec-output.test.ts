import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { status, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExecState,
  ExitReason,
  type ExecEvent,
  type ExecInfo,
  type ExecReadResponse,
} from "@devhatchery/proto/agent/v1/exec";
import {
  authMetadata,
  followExec,
  startExecAgent,
  startProcess,
  unaryCall,
  type ExecAgent,
} from "../../test/agent-harness.js";

const MIB = 1024 * 1024;

/** A full garbage collection, so live buffer memory can be measured (agent, client and test share this process). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

function liveBufferBytes(): number {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
}

describe("ExecService output log: cursors, replay, spill, cap, readers", () => {
  const ringBytes = 1 * MIB;
  let agent: ExecAgent;
  /** A small cap, so truncation is cheap to reach: 1 MiB kept, 64 KiB in memory. */
  let capped: ExecAgent;

  beforeAll(async () => {
    [agent, capped] = await Promise.all([
      startExecAgent({ ringBytes }),
      startExecAgent({ ringBytes: 64 * 1024, maxOutputBytes: 1 * MIB }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([agent?.close(), capped?.close()]);
  });

  const get = (on: ExecAgent, execId: string) =>
    unaryCall<{ exec?: ExecInfo }>((metadata, callback) => on.exec.get({ execId }, metadata, callback)).then(
      (r) => r.exec!,
    );
  const read = (on: ExecAgent, execId: string, cursor: number, options: { maxBytes?: number; waitMs?: number } = {}) =>
    unaryCall<ExecReadResponse>((metadata, callback) =>
      on.exec.read(
        { execId, cursor, maxBytes: options.maxBytes ?? 0, waitMs: options.waitMs ?? 0 },
        metadata,
        callback,
      ),
    );
  const attach = (on: ExecAgent, execId: string, cursor = 0, keepaliveMs = 0): ClientReadableStream<ExecEvent> =>
    on.exec.attach({ execId, cursor, keepaliveMs }, authMetadata());

  async function waitForExit(on: ExecAgent, execId: string, onPoll?: (info: ExecInfo) => void): Promise<ExecInfo> {
    for (let attempt = 0; attempt < 3_000; attempt++) {
      const info = await get(on, execId);
      onPoll?.(info);
      if (info.state === ExecState.EXEC_STATE_EXITED) return info;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`exec ${execId} did not end within 30 s`);
  }

  async function randomFile(on: ExecAgent, name: string, bytes: number): Promise<{ path: string; data: Buffer }> {
    const data = randomBytes(bytes);
    const path = `${on.workDir}/${name}`;
    await writeFile(path, data);
    return { path, data };
  }

  it("streams 100 MB to a reader slower than the process, byte-exact, from disk, with the agent's memory bounded", async () => {
    const { path, data } = await randomFile(agent, "big.bin", 100_000_000);
    const expectedSha = createHash("sha256").update(data).digest("hex");
    const buffersBefore = liveBufferBytes();
    const info = await startProcess(agent.exec, { argv: ["cat", path] });
    const call = attach(agent, info.execId);
    const hash = createHash("sha256");
    let cursor = 0;
    let maxMemory = 0;
    let buffersWhenBehind = 0;
    let exit: ExecEvent["event"];
    let pausedOnce = false;
    const sample = (sampled: ExecInfo): void => {
      maxMemory = Math.max(maxMemory, sampled.output!.memoryBytes);
    };
    for await (const message of call as AsyncIterable<ExecEvent>) {
      const event = message.event;
      if (event?.$case === "output") {
        expect(event.value.cursor).toBe(cursor);
        hash.update(event.value.data);
        cursor += event.value.data.length;
        if (!pausedOnce && cursor >= MIB) {
          // Be the slowest reader there is: stop reading until the process has written everything.
          pausedOnce = true;
          call.pause();
          await waitForExit(agent, info.execId, sample);
          // Once the last spill write lands, a finished log lives on disk only.
          await expect
            .poll(async () => (await get(agent, info.execId)).output, { timeout: 10_000 })
            .toMatchObject({ endCursor: 100_000_000, startCursor: 0, memoryBytes: 0, spilledBytes: 100_000_000 });
          buffersWhenBehind = liveBufferBytes();
          call.resume();
        }
        if (cursor % (8 * MIB) < event.value.data.length) sample(await get(agent, info.execId));
      } else {
        exit = event;
      }
    }
    expect(cursor).toBe(100_000_000);
    expect(hash.digest("hex")).toBe(expectedSha);
    expect(exit).toMatchObject({ $case: "exited", value: { reason: ExitReason.EXIT_REASON_EXITED, exitCode: 0 } });
    // The log holds at most the ring of spilled output plus the ring of output still being written, plus a pipe read.
    expect(maxMemory).toBeGreaterThan(0);
    expect(maxMemory).toBeLessThanOrEqual(2 * ringBytes + 256 * 1024);
    // With the whole output written and not yet read, 100 MB held anywhere in this process would show here. The
    // bound leaves room for what the gRPC client and other tests in this worker hold at that moment (seen up to
    // ~20 MB on a loaded 2-core machine), far below the 100 MB a retained log would add.
    expect(buffersWhenBehind - buffersBefore).toBeLessThan(48 * MIB);
  });

  it("gives a reader that reconnects from its last cursor, even inside a chunk, every byte exactly once", async () => {
    const script =
      'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "line-$i"; [ $((i % 20)) = 0 ] && sleep 0.02; done; echo "to stderr" >&2';
    const info = await startProcess(agent.exec, { shell: script });
    const received: Buffer[] = [];
    let cursor = 0;
    for (let connection = 0; connection < 50; connection++) {
      const follower = followExec(attach(agent, info.execId, cursor));
      // Take a few chunks, then drop the connection; resume one byte before the end of what arrived last time.
      const event = await follower.next((next) => next.$case === "output" || next.$case === "exited");
      follower.cancel();
      if (event.$case === "exited") break;
      if (event.$case !== "output") continue;
      expect(event.value.cursor).toBe(cursor);
      const keep = event.value.data.length > 1 ? event.value.data.length - 1 : event.value.data.length;
      received.push(Buffer.from(event.value.data).subarray(0, keep));
      cursor += keep;
    }
    const rest = followExec(attach(agent, info.execId, cursor));
    expect(await rest.ended).toBeUndefined();
    received.push(rest.output());
    const whole = followExec(attach(agent, info.execId, 0));
    await whole.ended;
    const expected = Array.from({ length: 400 }, (_, index) => `line-${index + 1}\n`).join("") + "to stderr\n";
    expect(whole.output().toString()).toBe(expected);
    expect(Buffer.concat(received).toString()).toBe(expected);
  });

  it("serves several concurrent readers the same bytes, each at its own pace", async () => {
    const { path, data } = await randomFile(agent, "five.bin", 5 * MIB);
    const info = await startProcess(agent.exec, { shell: `sleep 0.2; cat ${path}` });
    const readers = Array.from({ length: 4 }, () => followExec(attach(agent, info.execId)));
    const late = followExec(attach(agent, info.execId, 0));
    await Promise.all([...readers, late].map((reader) => reader.ended));
    for (const reader of [...readers, late]) {
      expect(reader.output().equals(data)).toBe(true);
      expect(reader.events.at(-1)).toMatchObject({ $case: "exited", value: { exitCode: 0 } });
    }
    expect((await get(agent, info.execId)).output?.readers).toBe(0);
  });

  it("tells a reader how many bytes the output cap dropped, then continues with what is left", async () => {
    const { path, data } = await randomFile(capped, "capped.bin", 5 * MIB);
    const info = await startProcess(capped.exec, { argv: ["cat", path] });
    const ended = await waitForExit(capped, info.execId);
    const start = ended.output!.startCursor;
    expect(ended.output!.endCursor).toBe(5 * MIB);
    // Whole spill segments (1/8 of the cap) are dropped: what is left is within one segment of the cap.
    expect(5 * MIB - start).toBeLessThanOrEqual(1 * MIB);
    expect(5 * MIB - start).toBeGreaterThan(1 * MIB - MIB / 8 - 1);

    const replay = followExec(attach(capped, info.execId, 0));
    expect(await replay.ended).toBeUndefined();
    expect(replay.events[0]).toEqual({ $case: "dropped", value: { cursor: 0, bytes: start } });
    const first = replay.events[1];
    expect(first?.$case === "output" && first.value.cursor).toBe(start);
    expect(replay.output().equals(data.subarray(start))).toBe(true);

    const page = await read(capped, info.execId, 100, { maxBytes: 10 });
    expect(page).toMatchObject({ droppedBytes: start - 100, nextCursor: start + 10, eof: false });
    expect(
      Buffer.concat(page.chunks.map((chunk) => Buffer.from(chunk.data))).equals(data.subarray(start, start + 10)),
    ).toBe(true);
  });

  it("tells a live reader that fell behind the cap where its gap is, never silently", async () => {
    const { path, data } = await randomFile(capped, "behind.bin", 4 * MIB);
    const info = await startProcess(capped.exec, { shell: `sleep 0.2; cat ${path}` });
    const call = attach(capped, info.execId);
    const events: NonNullable<ExecEvent["event"]>[] = [];
    for await (const message of call as AsyncIterable<ExecEvent>) {
      events.push(message.event!);
      if (events.length === 1) {
        call.pause();
        await waitForExit(capped, info.execId);
        call.resume();
      }
    }
    const dropped = events.find((event) => event.$case === "dropped");
    expect(dropped?.$case).toBe("dropped");
    let cursor = 0;
    for (const event of events) {
      if (event.$case === "output") {
        expect(event.value.cursor).toBe(cursor);
        expect(Buffer.from(event.value.data).equals(data.subarray(cursor, cursor + event.value.data.length))).toBe(
          true,
        );
        cursor += event.value.data.length;
      } else if (event.$case === "dropped") {
        expect(event.value.cursor).toBe(cursor);
        cursor += event.value.bytes;
      }
    }
    expect(cursor).toBe(4 * MIB);
  });

  it("sends keepalives with the reader's cursor while the process is quiet", async () => {
    const info = await startProcess(agent.exec, { shell: "echo a; sleep 1; echo b" });
    const follower = followExec(attach(agent, info.execId, 0, 100));
    await follower.ended;
    const kinds = follower.events.map((event) => event.$case);
    expect(kinds[0]).toBe("output");
    expect(kinds.at(-1)).toBe("exited");
    const keepalives = follower.events.filter((event) => event.$case === "keepalive");
    expect(keepalives.length).toBeGreaterThan(0);
    expect(keepalives[0]).toEqual({ $case: "keepalive", value: { cursor: 2 } });
    expect(follower.output().toString()).toBe("a\nb\n");
  });

  it("reads pages with Read: at most max_bytes, waiting up to wait_ms for more, eof once everything was read", async () => {
    const info = await startProcess(agent.exec, { shell: "echo hello; sleep 0.3; echo late" });
    const first = await read(agent, info.execId, 0, { maxBytes: 3, waitMs: 5_000 });
    expect(first.chunks.map((chunk) => Buffer.from(chunk.data).toString())).toEqual(["hel"]);
    expect(first).toMatchObject({ droppedBytes: 0, nextCursor: 3, eof: false });
    const rest = await read(agent, info.execId, 3, { waitMs: 5_000 });
    expect(Buffer.concat(rest.chunks.map((chunk) => Buffer.from(chunk.data))).toString()).toBe("lo\n");
    const late = await read(agent, info.execId, 6, { waitMs: 5_000 });
    expect(Buffer.concat(late.chunks.map((chunk) => Buffer.from(chunk.data))).toString()).toBe("late\n");
    const end = await read(agent, info.execId, 11, { waitMs: 5_000 });
    expect(end).toMatchObject({ chunks: [], nextCursor: 11, eof: true, exec: { state: ExecState.EXEC_STATE_EXITED } });
  });

  it("refuses a cursor past the end of the log with INVALID_ARGUMENT", async () => {
    const info = await startProcess(agent.exec, { shell: "printf 12345" });
    await waitForExit(agent, info.execId);
    const message = `Cursor 6 is past the end of exec "${info.execId}" output (5 bytes); resume from a chunk's cursor plus its length, or from 0.`;
    await expect(read(agent, info.execId, 6)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: message,
    });
    expect(await followExec(attach(agent, info.execId, 6)).ended).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: message,
    });
  });
});
