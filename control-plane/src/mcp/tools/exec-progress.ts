import { createProgressReporter, type ToolExtra } from "../progress.js";

/** `_meta` key on an output progress notification naming its stream ("stdout" or "stderr"). */
export const STREAM_META_KEY = "io.devhatchery/stream";

/** Streams exec output as progress notifications, in order; `flush` resolves once every one was handed over. */
export interface OutputProgress {
  report(totalBytes: number, stream: "stdout" | "stderr", text: string): void;
  flush(): Promise<void>;
}

/**
 * Output progress for one request (a no-op without a progress token). The tool result must wait for `flush`:
 * a notification sent after the result would reach a client that stopped listening for this request.
 */
export function createOutputProgress(extra: ToolExtra): OutputProgress {
  const reporter = createProgressReporter(extra);
  return {
    report: (totalBytes, stream, text) => reporter(totalBytes, text, { [STREAM_META_KEY]: stream }),
    flush: () => reporter.flush(),
  };
}
