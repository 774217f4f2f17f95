import type { ExecOutputChunk } from "../runners/exec/exec.js";
import { currentResponseBacklog } from "../response-backlog.js";
import { createProgressReporter, type ToolExtra } from "./progress.js";

/** `_meta` key on an output progress notification naming its stream ("stdout" or "stderr"). */
export const STREAM_META_KEY = "io.devhatchery/stream";
/** `_meta` key on the notification that says which output was not sent: `{ exec_id, cursor, bytes }`. */
export const SKIPPED_META_KEY = "io.devhatchery/skipped";
/** Notifications handed over and not yet written past which output is coalesced into one notification. */
const COALESCE_AFTER_PENDING = 8;
/** Output characters handed over and not yet written past which (or while the response's backlog is full) output is skipped. */
const SKIP_AFTER_PENDING_CHARS = 4 * 1024 * 1024;
/** The most output (characters) one coalesced notification carries. */
const COALESCE_MAX_CHARS = 128 * 1024;

/** Streams exec output as progress notifications, in order; `flush` resolves once every one was handed over. */
export interface OutputProgress {
  report(chunk: ExecOutputChunk): void;
  flush(): Promise<void>;
}

interface Held {
  stream: "stdout" | "stderr";
  cursor: number;
  totalBytes: number;
  texts: string[];
  chars: number;
}

/**
 * Output progress for one request (a no-op without a progress token). Output arriving faster than notifications are
 * written is coalesced; while the client reads its stream too slowly (the response's backlog is full) output is
 * skipped, and once the stream has room again (or before the result) one notification says how many bytes were
 * skipped and the exec_read cursor that returns them. What waits in this process stays bounded either way. The tool
 * result must wait for `flush`: a notification sent after the result would reach a client that stopped listening.
 */
export function createOutputProgress(extra: ToolExtra): OutputProgress {
  const reporter = createProgressReporter(extra);
  const backlog = currentResponseBacklog();
  let skipped: { execId: string; cursor: number } | undefined;
  let held: Held | undefined;
  let lastCursor = 0;
  let releaseScheduled = false;
  let flushed = false;

  const sendSkipped = (until: number): void => {
    if (!skipped) return;
    const { execId, cursor } = skipped;
    skipped = undefined;
    const bytes = until - cursor;
    reporter(
      until,
      `[${bytes} bytes of output were not sent as progress notifications because this client read its stream too slowly; read them with exec_read exec_id=${execId} cursor=${cursor}]\n`,
      { [SKIPPED_META_KEY]: { exec_id: execId, cursor, bytes } },
    );
  };
  /** Sends what waits, in cursor order: the skipped notice, then held output; `next` is where later output starts. */
  const release = (next: number): void => {
    sendSkipped(held?.cursor ?? next);
    if (!held) return;
    reporter(held.totalBytes, held.texts.join(""), { [STREAM_META_KEY]: held.stream });
    held = undefined;
  };

  return {
    report(chunk) {
      if (flushed) return;
      lastCursor = chunk.totalBytes;
      if (backlog?.congested || reporter.pendingChars >= SKIP_AFTER_PENDING_CHARS) {
        skipped ??= { execId: chunk.execId, cursor: held?.cursor ?? chunk.cursor };
        held = undefined;
        return;
      }
      if (reporter.pending >= COALESCE_AFTER_PENDING) {
        if (held && (held.stream !== chunk.stream || held.chars + chunk.text.length > COALESCE_MAX_CHARS))
          release(chunk.cursor);
        held ??= { stream: chunk.stream, cursor: chunk.cursor, totalBytes: chunk.totalBytes, texts: [], chars: 0 };
        held.texts.push(chunk.text);
        held.chars += chunk.text.length;
        held.totalBytes = chunk.totalBytes;
        // Output may pause: send what is held once the notifications ahead of it are written.
        if (!releaseScheduled) {
          releaseScheduled = true;
          void reporter.flush().then(() => {
            releaseScheduled = false;
            if (!flushed && !backlog?.congested) release(lastCursor);
          });
        }
        return;
      }
      release(chunk.cursor);
      reporter(chunk.totalBytes, chunk.text, { [STREAM_META_KEY]: chunk.stream });
    },
    flush() {
      flushed = true;
      release(lastCursor);
      return reporter.flush();
    },
  };
}
