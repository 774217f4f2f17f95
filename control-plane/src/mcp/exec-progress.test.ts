import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ResponseBacklog, runWithResponseBacklog } from "../response-backlog.js";
import type { ToolExtra } from "./progress.js";
import { createOutputProgress, SKIPPED_META_KEY, STREAM_META_KEY } from "./exec-progress.js";

interface Sent {
  progress: number;
  message: string;
  _meta: Record<string, unknown>;
}

/** A request's extra whose notifications are written one per turn of the event loop, like the SSE transport's. */
function requestExtra(sent: Sent[]): ToolExtra {
  return {
    _meta: { progressToken: "t" },
    sendNotification: async (notification: { params: Sent }) => {
      await nextTurn();
      sent.push(notification.params);
    },
  } as unknown as ToolExtra;
}

/** Every byte from 0 to `total` once, in order: sent text, or a skipped range naming its exec_read cursor. */
function expectCovered(sent: Sent[], total: number): void {
  let covered = 0;
  for (const note of sent) {
    const skipped = note._meta[SKIPPED_META_KEY] as { exec_id: string; cursor: number; bytes: number } | undefined;
    const from = skipped ? skipped.cursor : note.progress - note.message.length;
    expect(from).toBe(covered);
    covered = skipped ? skipped.cursor + skipped.bytes : note.progress;
  }
  expect(covered).toBe(total);
}

describe("exec output progress", () => {
  it("skips output while the response's backlog is full and names the exec_read cursor of what it skipped", async () => {
    const sent: Sent[] = [];
    const backlog = new ResponseBacklog(100);
    const progress = runWithResponseBacklog(backlog, () => createOutputProgress(requestExtra(sent)));
    const chunk = (cursor: number): void =>
      progress.report({ execId: "e-1", stream: "stdout", text: "x".repeat(10), cursor, totalBytes: cursor + 10 });
    chunk(0);
    backlog.queuedBytes = 100;
    chunk(10);
    chunk(20);
    backlog.queuedBytes = 0;
    chunk(30);
    await progress.flush();
    expect(sent.map((note) => note.message)).toEqual([
      "x".repeat(10),
      "[20 bytes of output were not sent as progress notifications because this client read its stream too slowly; read them with exec_read exec_id=e-1 cursor=10]\n",
      "x".repeat(10),
    ]);
    expect(sent[1]!._meta).toEqual({ [SKIPPED_META_KEY]: { exec_id: "e-1", cursor: 10, bytes: 20 } });
    expect(sent[2]!._meta).toEqual({ [STREAM_META_KEY]: "stdout" });
    expectCovered(sent, 40);
  });

  it("coalesces output arriving faster than notifications are written, keeping streams apart and every byte", async () => {
    const sent: Sent[] = [];
    const progress = runWithResponseBacklog(new ResponseBacklog(1 << 30), () =>
      createOutputProgress(requestExtra(sent)),
    );
    let cursor = 0;
    for (let i = 0; i < 1000; i++) {
      const stream = i % 300 < 150 ? "stdout" : "stderr";
      const text = `${stream}-${i}\n`;
      progress.report({ execId: "e-2", stream, text, cursor, totalBytes: cursor + text.length });
      cursor += text.length;
    }
    await progress.flush();
    expect(sent.length).toBeLessThan(1000);
    expect(sent.some((note) => SKIPPED_META_KEY in note._meta)).toBe(false);
    for (const note of sent)
      expect(
        note.message
          .split("\n")
          .filter(Boolean)
          .every((line) => line.startsWith(note._meta[STREAM_META_KEY] as string)),
      ).toBe(true);
    expectCovered(sent, cursor);
  });
});
