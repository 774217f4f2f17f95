import type { ExecOutputChunk } from "../../runners/exec.js";
import { currentResponseBacklog } from "../../response-backlog.js";
import { createProgressReporter, type ToolExtra } from "../progress.js";

/** `_meta` key on an output progress notification naming its stream ("stdout" or "stderr"). */
export const STREAM_META_KEY = "io.devhatchery/stream";
/** `_meta` key on the notification that says which output was not sent: `{ exec_id, cursor, bytes }`. */
export const SKIPPED_META_KEY = "io.devhatchery/skipped";
/** Notifications handed to the transport and not yet written past which output is skipped too. */
const MAX_PENDING_NOTIFICATIONS = 128;

/** Streams exec output as progress notifications, in order; `flush` resolves once every one was handed over. */
export interface OutputProgress {
  report(chunk: ExecOutputChunk): void;
  flush(): Promise<void>;
}

/**
 * Output progress for one request (a no-op without a progress token). While the client reads its stream slower than
 * output arrives (the response's backlog is full), output is not sent: once the stream has room again, or before the
 * result, one notification says how many bytes were skipped and the exec_read cursor that returns them. The tool
 * result must wait for `flush`: a notification sent after the result would reach a client that stopped listening.
 */
export function createOutputProgress(extra: ToolExtra): OutputProgress {
  const reporter = createProgressReporter(extra);
  const backlog = currentResponseBacklog();
  let skipped: { execId: string; cursor: number } | undefined;
  let lastCursor = 0;
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
  return {
    report(chunk) {
      lastCursor = chunk.totalBytes;
      if (reporter.pending >= MAX_PENDING_NOTIFICATIONS || backlog?.congested) {
        skipped ??= { execId: chunk.execId, cursor: chunk.cursor };
        return;
      }
      sendSkipped(chunk.cursor);
      reporter(chunk.totalBytes, chunk.text, { [STREAM_META_KEY]: chunk.stream });
    },
    flush() {
      sendSkipped(lastCursor);
      return reporter.flush();
    },
  };
}
